// Handler shapes the generated constructors must get right: a raw
// identifier, no arguments, an argument named `reply`, an async ask, and
// `#[isolate(remote)]` (whose enum is serde, through `Checked`).
use isolate_core::prelude::*;

#[isolate]
#[derive(Default)]
pub struct Shapes {
    seen: Vec<String>,
}

#[isolate(remote)]
impl Shapes {
    #[message]
    fn r#type(&mut self, r#in: String) {
        self.seen.push(r#in);
    }

    #[message]
    fn ping(&self) {}

    #[message]
    fn answer(&self, reply: String) -> String {
        reply
    }

    #[message]
    async fn later(&self, n: u64) -> Vec<String> {
        self.seen.iter().take(n as usize).cloned().collect()
    }

    /// An argument with the name of the macro's own reply sender.
    #[message]
    fn own_name(&self, __isolate_reply: u8) -> u8 {
        __isolate_reply
    }
}

#[isolate]
#[derive(Default)]
pub struct Sizes {
    seen: Vec<u8>,
}

#[isolate]
impl Sizes {
    /// `Self` inside a constant and inside a type macro.
    #[message]
    fn sized(&self, bytes: [u8; Self::SIZE], same: same!(Self)) -> usize {
        bytes.len() + same.seen.len() + self.seen.len()
    }
}

impl Sizes {
    const SIZE: usize = 2;
}

/// Expands to its type, as a type macro.
macro_rules! same {
    ($ty:ty) => {
        $ty
    };
}
use same;

/// An isolate whose argument name comes from the macro's caller and whose
/// type from the macro itself: the two have different hygiene.
macro_rules! counter {
    ($name:ident, $arg:ident) => {
        #[isolate]
        #[derive(Default)]
        pub struct $name {
            n: u64,
        }

        #[isolate]
        impl $name {
            #[message]
            fn add(&mut self, $arg: u32) -> u64 {
                self.n += u64::from($arg);
                self.n
            }
        }
    };
}
counter!(Made, amount);

/// A field whose `#[cfg]` sits inside a `#[cfg_attr]`.
#[message]
pub struct Flags {
    pub on: bool,
    #[cfg_attr(all(), cfg(any()))]
    pub scratch: std::cell::Cell<u8>,
}

fn main() {
    let group = IsolateGroup::new();
    let shapes = group.spawn(Shapes::default());
    shapes.r#type("one".into()).unwrap();
    shapes.ping().unwrap();
    assert_eq!(shapes.answer("two".into()).wait(), Ok("two".to_owned()));
    assert_eq!(shapes.later(5).wait(), Ok(vec!["one".to_owned()]));
    // The message enum is built with the constructors named after the handlers.
    shapes
        .send_port()
        .send(ShapesMessage::r#type("three".into()))
        .unwrap();
    assert_eq!(shapes.later(5).wait().map(|seen| seen.len()), Ok(2));
    assert_eq!(shapes.own_name(7).wait(), Ok(7));
    let sizes = group.spawn(Sizes::default());
    assert_eq!(sizes.sized([1, 2], Sizes::default()).wait(), Ok(2));
    let made = group.spawn(Made::default());
    assert_eq!(made.add(3).wait(), Ok(3));
    let _ = Flags { on: true };
}
