// A pinned isolate whose `Rc` and `RefCell` are built inside its factory,
// from data that crosses: the legitimate form of issue 16's hole 1.
use std::cell::RefCell;
use std::rc::Rc;

use isolate_core::prelude::*;
use isolate_core::SpawnOptions;

#[isolate(pinned)]
pub struct Session {
    user: String,
    history: Rc<RefCell<Vec<String>>>,
}

#[isolate(pinned)]
impl Session {
    #[message]
    fn said(&mut self, line: String) -> usize {
        self.history.borrow_mut().push(format!("{}: {line}", self.user));
        self.history.borrow().len()
    }
}

fn build(user: String) -> Session {
    Session {
        user,
        history: Rc::default(),
    }
}

fn main() {
    let group = IsolateGroup::new();
    let one = group.spawn_pinned(build, "ada".to_owned());
    let two = group.spawn_pinned(
        |(user, first)| {
            let session = build(user);
            session.history.borrow_mut().push(first);
            session
        },
        ("grace".to_owned(), "hello".to_owned()),
    );
    let (_three, _handle) =
        group.spawn_pinned_with(|()| build("anon".to_owned()), (), SpawnOptions::new());
    assert_eq!(one.said("hi".into()).wait(), Ok(1));
    assert_eq!(two.said("hi".into()).wait(), Ok(2));
}
