//! The classic benchmarks, as programs: they run on small input and check
//! their own answers.

mod common;

#[test]
fn skynet_sums_its_leaves() {
    let stdout = common::run_example("skynet", &["--leaves", "1000"]);
    assert!(
        stdout.contains("1111 isolates spawned, 1000 leaves, sum 499500"),
        "{stdout}"
    );
    assert!(stdout.contains(" ms on "), "{stdout}");
}

#[test]
fn the_ring_passes_its_token_round() {
    let stdout = common::run_example("ring", &["--isolates", "100", "--rounds", "10"]);
    assert!(stdout.contains("ring: 100 isolates"), "{stdout}");
    assert!(stdout.contains("10 rounds, 1000 hops"), "{stdout}");
}
