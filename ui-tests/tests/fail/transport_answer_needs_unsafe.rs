// Hole 5 of issue 16: the reply sender that `decode` builds around an
// `Answer` is `Sendable`, and whoever answers runs the `Answer`'s code on
// its own thread. The trait is `unsafe`.
use std::sync::{Arc, Mutex};

use isolate_core::transport::{Answer, AnswerFailure};

struct Leaky {
    answers: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Answer for Leaky {
    fn answer(self: Box<Self>, bytes: Vec<u8>) {
        self.answers.lock().unwrap().push(bytes);
    }

    fn fail(self: Box<Self>, _: AnswerFailure) {}
}

fn main() {}
