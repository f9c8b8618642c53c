use isolate_core::Sendable;

fn send<T: Sendable>(_: T) {}

fn main() {
    let local = String::from("on the stack");
    send(&local);
}
