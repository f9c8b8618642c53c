use isolate_core::prelude::*;

fn double(n: u64) -> u64 {
    n * 2
}

async fn apply((f, n, handle, answer): (fn(u64) -> u64, u64, IsolateHandle, SendPort<u64>)) {
    let _ = handle.control_only();
    answer.send(f(n)).unwrap();
}

fn main() {
    fn is_sendable<T: Sendable>() {}
    is_sendable::<fn(u64) -> u64>();
    is_sendable::<IsolateHandle>();
    let group = IsolateGroup::new();
    let mut answer = ReceivePort::new();
    let handle = isolate_core::current();
    assert!(handle.is_none());
    let me = group.spawn_fn(|_: ()| async {}, ());
    group.spawn_fn(apply, (double as fn(u64) -> u64, 21, me, answer.send_port()));
    assert_eq!(answer.recv(), Ok(42));
}
