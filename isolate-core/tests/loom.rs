//! The scheduling state machine, the mailbox and the workers' parking
//! protocol under every interleaving loom finds. Checks invariants 2, 3 and
//! 4 of `src/scheduler/state.rs`, and that `src/scheduler/idle.rs` never
//! leaves a task queued while every worker parks, on its parker or inside
//! the group's reactor.
//!
//! Run with:
//!
//! ```text
//! RUSTFLAGS="--cfg isolate_loom" cargo test -p isolate-core --test loom --release
//! ```
#![cfg(isolate_loom)]

use isolate_core::__loom::{Finish, Idle, Mailbox, Parker, State, Unparker, deliver};
use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::thread;

/// The worker's side of one run: handle everything queued, then try to go
/// idle, and run again while notified. Returns the messages handled.
fn run_until_idle(state: &State, mailbox: &Mailbox<u32>) -> Vec<u32> {
    let mut handled = Vec::new();
    loop {
        while let Some(message) = mailbox.pop() {
            handled.push(message);
        }
        match state.finish_run() {
            Finish::Idle => return handled,
            Finish::Reschedule => assert!(state.start_run(), "a rescheduled run must start"),
            Finish::Stopped => unreachable!("nobody stops this isolate"),
        }
    }
}

#[test]
fn a_message_sent_during_a_run_is_never_lost() {
    loom::model(|| {
        let state = Arc::new(State::new_scheduled());
        let mailbox = Arc::new(Mailbox::new(1));
        assert!(state.start_run());

        let sender = {
            let (state, mailbox) = (state.clone(), mailbox.clone());
            thread::spawn(move || {
                // true: the sender must enqueue the isolate
                deliver(&mailbox, &state, 7).unwrap()
            })
        };
        let mut handled = run_until_idle(&state, &mailbox);
        let sender_enqueued = sender.join().unwrap();

        if sender_enqueued {
            // The isolate is queued exactly once; the run it gets sees the
            // message if the first run did not.
            assert!(state.start_run());
            handled.extend(run_until_idle(&state, &mailbox));
        }
        assert_eq!(handled, [7], "the message is handled exactly once");
    });
}

/// Only a push into an empty mailbox notifies. A push behind a message
/// that a run is draining either lands before the run's last pop (which
/// then takes it) or finds the mailbox empty and queues the isolate again.
#[test]
fn a_push_behind_another_message_needs_no_wake_up_of_its_own() {
    loom::model(|| {
        let state = Arc::new(State::new());
        let mailbox = Arc::new(Mailbox::new(1));
        assert!(
            deliver(&mailbox, &state, 1).unwrap(),
            "the first push queues"
        );
        assert!(state.start_run());

        let sender = {
            let (state, mailbox) = (state.clone(), mailbox.clone());
            thread::spawn(move || deliver(&mailbox, &state, 2).unwrap())
        };
        let mut handled = run_until_idle(&state, &mailbox);
        if sender.join().unwrap() {
            assert!(state.start_run());
            handled.extend(run_until_idle(&state, &mailbox));
        }
        assert_eq!(handled, [1, 2], "nothing is stranded, nothing is reordered");
    });
}

/// Two senders racing into an idle isolate queue it exactly once.
#[test]
fn racing_senders_queue_an_idle_isolate_once() {
    loom::model(|| {
        let state = Arc::new(State::new());
        let mailbox = Arc::new(Mailbox::new(2));
        let senders: Vec<_> = [1u32, 2]
            .into_iter()
            .map(|message| {
                let (state, mailbox) = (state.clone(), mailbox.clone());
                thread::spawn(move || deliver(&mailbox, &state, message).unwrap())
            })
            .collect();
        let queued = senders
            .into_iter()
            .map(|sender| sender.join().unwrap())
            .filter(|&queued| queued)
            .count();
        assert_eq!(queued, 1);
        assert!(state.start_run());
        let mut handled = run_until_idle(&state, &mailbox);
        handled.sort_unstable();
        assert_eq!(handled, [1, 2]);
    });
}

#[test]
fn concurrent_notifies_enqueue_an_idle_isolate_exactly_once() {
    loom::model(|| {
        let state = Arc::new(State::new());
        let enqueues = Arc::new(AtomicUsize::new(0));
        let notifiers: Vec<_> = (0..2)
            .map(|_| {
                let (state, enqueues) = (state.clone(), enqueues.clone());
                thread::spawn(move || {
                    if state.notify() {
                        enqueues.fetch_add(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for notifier in notifiers {
            notifier.join().unwrap();
        }
        assert_eq!(enqueues.load(Ordering::SeqCst), 1);
        assert!(state.start_run());
    });
}

#[test]
fn a_stopped_isolate_is_never_scheduled_again() {
    loom::model(|| {
        let state = Arc::new(State::new());
        let notifier = {
            let state = state.clone();
            thread::spawn(move || state.notify())
        };
        let stopped_it = state.stop_idle();
        let enqueued = notifier.join().unwrap();
        assert!(
            stopped_it,
            "an idle or scheduled isolate can always be stopped"
        );
        assert!(state.is_stopped());
        if enqueued {
            // It sat in a queue when it was stopped: the worker that pops it
            // must not run it.
            assert!(!state.start_run());
        }
        assert!(!state.notify(), "STOPPED is final");
    });
}

#[test]
fn a_message_is_either_refused_or_drained_by_close() {
    loom::model(|| {
        let mailbox = Arc::new(Mailbox::new(1));
        let sender = {
            let mailbox = mailbox.clone();
            thread::spawn(move || mailbox.push(1u32).is_ok())
        };
        let drained = mailbox.close();
        let accepted = sender.join().unwrap();
        // Nothing is stranded: an accepted message was drained by `close`.
        assert_eq!(accepted, drained.len() == 1);
        assert!(mailbox.push(2).is_err(), "a closed mailbox refuses");
    });
}

#[test]
fn the_last_sender_leaving_is_seen_after_its_message() {
    loom::model(|| {
        let mailbox = Arc::new(Mailbox::new(1));
        let sender = {
            let mailbox = mailbox.clone();
            thread::spawn(move || {
                mailbox.push(5u32).unwrap();
                mailbox.remove_sender()
            })
        };
        // The run loop's exit check: no senders, then one more pop.
        let mut seen = Vec::new();
        loop {
            if let Some(message) = mailbox.pop() {
                seen.push(message);
                continue;
            }
            if mailbox.has_no_senders() {
                if let Some(message) = mailbox.pop() {
                    seen.push(message);
                    continue;
                }
                break;
            }
            thread::yield_now();
        }
        assert!(sender.join().unwrap(), "the only sender was the last");
        assert_eq!(seen, [5], "ending never loses a message sent before");
    });
}

/// A wake-up whose news travels outside the mailbox (a `resume` clearing
/// the pause flag) must be seen by the run it leads to, even when the
/// isolate was already queued and `notify` changes nothing. Before `notify`
/// rewrote a queued state, the run could read the flag stale and go idle
/// for good (found by Miri's weak-memory emulation).
#[test]
fn a_wake_up_of_a_queued_isolate_publishes_what_came_before_it() {
    loom::model(|| {
        // Queued, and paused: the run that is coming must see the resume.
        let state = Arc::new(State::new_scheduled());
        let paused = Arc::new(AtomicUsize::new(1));

        let resumer = {
            let (state, paused) = (state.clone(), paused.clone());
            thread::spawn(move || {
                paused.store(0, Ordering::Relaxed);
                state.notify() // the isolate is queued (or running): false
            })
        };
        // The worker's runs: each one that sees the pause goes idle.
        let mut resumed = false;
        let mut scheduled_again = false;
        if state.start_run() {
            loop {
                if paused.load(Ordering::Relaxed) == 0 {
                    resumed = true;
                }
                match state.finish_run() {
                    Finish::Idle => break,
                    Finish::Reschedule => assert!(state.start_run()),
                    Finish::Stopped => unreachable!(),
                }
                if resumed {
                    break;
                }
            }
        }
        if resumer.join().unwrap() {
            scheduled_again = true;
        }
        if !resumed {
            // Then the resumer must have queued the isolate again, and that
            // run sees the flag.
            assert!(scheduled_again, "a resumed isolate went idle for good");
            assert!(state.start_run());
            assert_eq!(paused.load(Ordering::Relaxed), 0);
        }
    });
}

/// One worker of the parking model: the loop of `worker.rs` with the queues
/// reduced to a count of tasks. It handles tasks until `total` are handled,
/// then shuts the group down, as the last task's handler would.
///
/// With a `reactor` (whether a worker is in it), a parking worker that
/// finds it free parks "inside" it as `worker.rs` does: it publishes a
/// waker, looks once more, waits on that waker, and lets the next worker in
/// before it withdraws the waker (the order of `Reactor::try_block_on` and
/// `Idle::leave_driver`).
fn parking_worker(
    index: usize,
    parker: &Parker,
    idle: &Idle,
    queued: &AtomicUsize,
    handled: &AtomicUsize,
    total: usize,
    reactor: Option<&AtomicBool>,
) {
    let driver = Parker::new();
    let waker = std::task::Waker::from(std::sync::Arc::new(DriverWake(driver.unparker().clone())));
    let take = || {
        queued
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    };
    let mut searching = false;
    loop {
        if handled.load(Ordering::SeqCst) == total {
            return;
        }
        if !searching {
            idle.start_search();
        }
        if take() {
            searching = false;
            idle.end_search();
            if handled.fetch_add(1, Ordering::SeqCst) + 1 == total {
                // The group's shutdown: every worker is woken to exit.
                idle.notify_all();
                return;
            }
            continue;
        }
        // Nothing: become a sleeper, look once more, park.
        idle.register(index);
        let idle_now =
            || queued.load(Ordering::SeqCst) == 0 && handled.load(Ordering::SeqCst) != total;
        if idle_now() {
            match reactor {
                Some(busy)
                    if busy
                        .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                        .is_ok() =>
                {
                    if idle.enter_driver(index, &waker) && idle_now() {
                        driver.park();
                    }
                    busy.store(false, Ordering::Release);
                    idle.leave_driver(index);
                }
                _ => parker.park(),
            }
        }
        idle.unregister(index);
        searching = true;
    }
}

/// The parking protocol of `idle.rs`: a task pushed (and notified) while
/// the workers search, register as sleepers or park is always taken. Were
/// one left queued with every worker parked, loom would find the run in
/// which every thread blocks and fail with a deadlock.
fn parking_model(tasks: usize, with_reactor: bool) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(move || {
        let reactor = Arc::new(AtomicBool::new(false));
        let parkers = [Parker::new(), Parker::new()];
        let idle = Arc::new(Idle::new(
            parkers.iter().map(|p| p.unparker().clone()).collect(),
        ));
        let queued = Arc::new(AtomicUsize::new(0));
        let handled = Arc::new(AtomicUsize::new(0));
        let workers: Vec<_> = parkers
            .into_iter()
            .enumerate()
            .map(|(index, parker)| {
                let (idle, queued, handled) = (idle.clone(), queued.clone(), handled.clone());
                let reactor = with_reactor.then(|| reactor.clone());
                thread::spawn(move || {
                    let reactor = reactor.as_deref();
                    parking_worker(index, &parker, &idle, &queued, &handled, tasks, reactor)
                })
            })
            .collect();
        // The producer (a plain thread, or a handler on another worker):
        // make the task visible, then notify.
        for _ in 0..tasks {
            queued.fetch_add(1, Ordering::SeqCst);
            idle.notify_one();
        }
        for worker in workers {
            worker.join().unwrap();
        }
        assert_eq!(handled.load(Ordering::SeqCst), tasks);
        assert_eq!(queued.load(Ordering::SeqCst), 0);
    });
}

#[test]
fn a_task_is_never_left_queued_while_every_worker_parks() {
    parking_model(1, false);
}

#[test]
fn two_tasks_are_both_taken_whatever_the_interleaving() {
    parking_model(2, false);
}

/// The same with a reactor: the worker inside it is woken through its
/// waker, and a worker that leaves it never withdraws the next one's.
#[test]
fn a_task_is_never_left_queued_while_a_worker_parks_in_the_reactor() {
    parking_model(1, true);
}

#[test]
fn two_tasks_are_both_taken_with_workers_taking_turns_in_the_reactor() {
    parking_model(2, true);
}

/// Ends a park, or a wait, inside a model reactor.
struct DriverWake(Unparker);

impl std::task::Wake for DriverWake {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.0.unpark();
    }
}

/// A worker that looked at the reactor without waiting (`poll_reactor`)
/// hands it over: a worker that went to park meanwhile found it taken and
/// parked on its parker, and would otherwise sleep while a socket's event
/// waits for the looker, which has gone on to a long handler (here: one
/// that waits for that very event). Without `hand_over_reactor`, loom
/// finds the run in which the event is never handled.
#[test]
fn a_look_at_the_reactor_hands_it_to_a_worker_that_parked_meanwhile() {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(|| {
        let parkers = [Parker::new(), Parker::new()];
        let idle = Arc::new(Idle::new(
            parkers.iter().map(|p| p.unparker().clone()).collect(),
        ));
        // What tokio's IO driver is in the model: an event flag, and one
        // parker that whoever is in the reactor waits on (its waker and
        // the event both unpark it; a wake with nobody in stays as a
        // token, as tokio's wake-up of its driver does).
        let reactor = Arc::new(Parker::new());
        let busy = Arc::new(AtomicBool::new(false));
        let event = Arc::new(AtomicBool::new(false));
        let handled = Arc::new(AtomicBool::new(false));
        let handler = Arc::new(Parker::new());
        let handle_event = {
            let (event, handled, handler) = (event.clone(), handled.clone(), handler.clone());
            // A compare-exchange, not a swap: loom 0.7 let a swap that read
            // the initial `false` be ordered after the later store of
            // `true`, which then no load saw (a run C11 forbids).
            move || {
                if event
                    .compare_exchange(true, false, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
                {
                    handled.store(true, Ordering::SeqCst);
                    handler.unparker().unpark();
                }
            }
        };
        let [parker0, _parker1] = parkers;
        // Worker 0: idle, parks (in the reactor if it can), until handled.
        let sleeper = {
            let (idle, reactor, busy) = (idle.clone(), reactor.clone(), busy.clone());
            let (event, handled, handle_event) =
                (event.clone(), handled.clone(), handle_event.clone());
            thread::spawn(move || {
                let waker = std::task::Waker::from(std::sync::Arc::new(DriverWake(
                    reactor.unparker().clone(),
                )));
                idle.start_search();
                while !handled.load(Ordering::SeqCst) {
                    idle.register(0);
                    let taken = busy
                        .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                        .is_ok();
                    if taken {
                        if idle.enter_driver(0, &waker) && !event.load(Ordering::SeqCst) {
                            reactor.park();
                        }
                        handle_event();
                        busy.store(false, Ordering::Release);
                        idle.leave_driver(0);
                    } else {
                        parker0.park();
                    }
                    idle.unregister(0);
                }
            })
        };
        // Worker 1: one look without waiting, then a long handler that
        // waits for the event to be handled.
        let looker = {
            let (idle, busy, handled) = (idle.clone(), busy.clone(), handled.clone());
            let handle_event = handle_event.clone();
            thread::spawn(move || {
                if busy
                    .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
                {
                    handle_event();
                    busy.store(false, Ordering::Release);
                    idle.hand_over_reactor();
                }
                while !handled.load(Ordering::SeqCst) {
                    handler.park();
                }
            })
        };
        // The socket: an event, and the driver's wake-up.
        event.store(true, Ordering::SeqCst);
        reactor.unparker().unpark();
        looker.join().unwrap();
        // The group's shutdown ends the sleeper's park, wherever it is.
        idle.notify_all();
        sleeper.join().unwrap();
    });
}
