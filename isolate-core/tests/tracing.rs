//! With the `tracing` feature, isolates emit a span per run and per message,
//! and an event when a handler panics. Its own test binary: it installs the
//! process-wide subscriber.
#![cfg(feature = "tracing")]

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use common::PATIENCE;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Records the names of the spans created and the levels of the events.
#[derive(Default)]
struct Log {
    spans: Mutex<Vec<&'static str>>,
    errors: AtomicU64,
    next: AtomicU64,
}

#[derive(Clone, Default)]
struct Recorder(Arc<Log>);

impl std::ops::Deref for Recorder {
    type Target = Log;
    fn deref(&self) -> &Log {
        &self.0
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, attributes: &Attributes<'_>) -> Id {
        self.spans
            .lock()
            .unwrap()
            .push(attributes.metadata().name());
        Id::from_u64(self.next.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        if *event.metadata().level() == tracing::Level::ERROR {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

#[test]
fn runs_and_messages_have_spans_and_panics_are_events() {
    let recorder = Recorder::default();
    tracing::subscriber::set_global_default(recorder.clone()).expect("first subscriber");

    let group = common::group(1);
    let counter = group.spawn(common::Counter::default());
    for n in 0..3 {
        counter.send(common::CounterMsg::Add(n)).unwrap();
    }
    assert_eq!(
        counter
            .ask(common::CounterMsg::Total)
            .wait_timeout(PATIENCE),
        Ok(3)
    );
    counter.send(common::CounterMsg::Panic("traced")).unwrap();
    common::wait_until("the isolate ends", || counter.is_closed());

    let spans = recorder.spans.lock().unwrap().clone();
    assert!(spans.contains(&"isolate"), "{spans:?}");
    let messages = spans.iter().filter(|name| **name == "message").count();
    assert_eq!(messages, 5, "{spans:?}");
    assert_eq!(recorder.errors.load(Ordering::Relaxed), 1);
}
