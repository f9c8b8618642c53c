//! `run`: a computation in a new isolate, its result moved back, its panic
//! reported, never a hang.

mod common;

use common::PATIENCE;
use isolate_core::prelude::*;
use isolate_core::{RemoteErrorKind, run, run_async, run_many, run_with, run_with_async};

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

#[test]
fn run_many_gives_every_result_in_input_order() {
    let squares = run_many(0..100u64, |n| n * n).wait().unwrap();
    assert_eq!(squares, (0..100u64).map(|n| n * n).collect::<Vec<_>>());
}

#[test]
fn run_many_of_nothing_answers_at_once() {
    assert_eq!(run_many(Vec::<u8>::new(), |n| n).wait(), Ok(Vec::new()));
}

#[test]
fn run_many_reports_the_first_failure_in_input_order_after_every_computation_ran() {
    // Items 3 and 7 panic; the error is item 3's whichever ends first.
    let mut ran = ReceivePort::<u8>::new();
    let port = ran.send_port();
    let items: Vec<_> = (0..10u8).map(|n| (n, port.clone())).collect();
    drop(port);
    let error = run_many(items, |(n, ran)| {
        ran.send(n).unwrap();
        assert!(n != 3 && n != 7, "item {n} failed");
        n
    })
    .wait()
    .unwrap_err();
    assert_eq!(error.kind(), RemoteErrorKind::Panicked);
    assert_eq!(error.message(), "item 3 failed");
    // Every port into `ran` went with its computation, so the drain ends.
    let mut seen: Vec<u8> = std::iter::from_fn(|| ran.recv_timeout(PATIENCE).ok()).collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..10).collect::<Vec<_>>(), "every computation ran");
}

#[test]
fn run_many_counts_an_exit_as_a_computation_without_a_result() {
    let error = run_many([false, true], |exits| {
        if exits {
            let sink = ReceivePort::<u8>::new();
            let _ = isolate_core::exit(&sink.send_port(), 1);
        }
        0u8
    })
    .wait()
    .unwrap_err();
    assert_eq!(error.kind(), RemoteErrorKind::Stopped);
}

#[test]
fn run_many_refuses_to_block_a_worker_and_can_be_awaited_there() {
    type Answer = (
        Result<Vec<u8>, isolate_core::RemoteError>,
        Result<Vec<u8>, isolate_core::RemoteError>,
    );
    async fn offload(answer: SendPort<Answer>) {
        let refused = run_many([1u8], |n| n).wait();
        let awaited = run_many([1u8, 2], |n| n + 1).await;
        answer.send((refused, awaited)).unwrap();
    }
    let group = common::group(1);
    let mut inbox = ReceivePort::new();
    group.spawn_fn(offload, inbox.send_port());
    let (refused, awaited) = inbox.recv_timeout(PATIENCE).unwrap();
    assert_eq!(
        refused.unwrap_err().kind(),
        RemoteErrorKind::BlockingInIsolate
    );
    assert_eq!(awaited, Ok(vec![2, 3]));
}
