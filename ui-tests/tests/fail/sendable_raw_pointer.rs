use isolate_core::Sendable;

fn send<T: Sendable>(_: T) {}

fn main() {
    let value = 7u32;
    send(&value as *const u32);
}
