//! `run`: a computation in a new isolate, its result moved back, its panic
//! reported, never a hang.

mod common;

use common::PATIENCE;
use isolate_core::prelude::*;
use isolate_core::{RemoteErrorKind, run, run_async, run_with, run_with_async};

#[test]
fn run_returns_the_result_of_the_computation() {
    assert_eq!(run(|| (1..=10u64).product::<u64>()), Ok(3_628_800));
}

#[test]
fn run_with_moves_the_data_in_and_the_result_out_without_copying() {
    let data = vec![1u8; 1 << 20];
    let address = data.as_ptr() as usize;
    let (back, seen_at) = run_with(data, |data| {
        let at = data.as_ptr() as usize;
        (data, at)
    })
    .unwrap();
    // The same heap buffer went in and came back out.
    assert_eq!(seen_at, address);
    assert_eq!(back.as_ptr() as usize, address);
}

#[test]
fn a_panic_inside_run_comes_back_as_a_remote_error_with_its_message() {
    let error = run(|| -> u8 { panic!("computation failed: {}", 42) }).unwrap_err();
    assert_eq!(error.kind(), RemoteErrorKind::Panicked);
    assert_eq!(error.message(), "computation failed: 42");
    assert!(error.to_string().contains("computation failed: 42"));
}

#[test]
fn run_async_awaits_the_result_in_any_runtime() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let (sum, failed) = runtime.block_on(async {
        let sum = tokio::time::timeout(
            PATIENCE,
            run_with_async(vec![1u32, 2, 3], |v| v.iter().sum::<u32>()),
        )
        .await
        .expect("no hang");
        let failed = tokio::time::timeout(PATIENCE, run_async(|| -> u8 { panic!("async boom") }))
            .await
            .expect("no hang");
        (sum, failed)
    });
    assert_eq!(sum, Ok(6));
    assert_eq!(failed.unwrap_err().message(), "async boom");
}

#[test]
fn run_async_inside_an_isolate_offloads_without_blocking_it() {
    async fn offload(answer: SendPort<Result<u64, isolate_core::RemoteError>>) {
        let result = run_async(|| (0..1_000u64).sum()).await;
        answer.send(result).unwrap();
    }
    let group = common::group(1);
    let mut inbox = ReceivePort::new();
    group.spawn_fn(offload, inbox.send_port());
    assert_eq!(inbox.recv_timeout(PATIENCE).unwrap(), Ok(499_500));
}

#[test]
fn exit_inside_run_ends_the_computation_without_a_result() {
    let error = run(|| -> u8 {
        let mut sink = ReceivePort::<u8>::new();
        let port = sink.send_port();
        let _ = isolate_core::exit(&port, 1);
        let _ = sink.try_recv();
        unreachable!("exit returned")
    })
    .unwrap_err();
    assert_eq!(error.kind(), RemoteErrorKind::Stopped);
}

#[test]
fn many_runs_at_once_all_complete() {
    let handles: Vec<_> = (0..8u64)
        .map(|i| std::thread::spawn(move || run_with(i, |i| i * 2)))
        .collect();
    let mut results: Vec<u64> = handles
        .into_iter()
        .map(|h| h.join().unwrap().unwrap())
        .collect();
    results.sort_unstable();
    assert_eq!(results, [0, 2, 4, 6, 8, 10, 12, 14]);
}
