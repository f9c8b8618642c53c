use isolate_core::Sendable;

fn send<T: Sendable>(_: T) {}

fn main() {
    let work: Box<dyn Fn() -> u8 + Send> = Box::new(|| 1);
    send(work);
}
