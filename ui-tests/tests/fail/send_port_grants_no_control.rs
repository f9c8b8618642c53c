use isolate_core::prelude::*;

#[isolate]
struct Worker;

#[isolate]
impl Worker {
    #[message]
    fn work(&self) {}
}

fn main() {
    let group = IsolateGroup::new();
    let port = group.spawn(Worker);
    // A port sends messages; control (kill, pause) takes the `IsolateHandle`.
    port.kill(Priority::Immediate);
}
