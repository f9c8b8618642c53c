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
}
