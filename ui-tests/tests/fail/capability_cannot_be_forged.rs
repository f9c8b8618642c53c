use isolate_core::Capability;

fn main() {
    // Only `pause()` makes capabilities: nobody can forge one to resume an
    // isolate someone else paused.
    let _forged = Capability { id: 1 };
}
