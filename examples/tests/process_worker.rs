//! The `process_worker` example offloads to child processes and survives a
//! crash of one of them.

mod common;

#[test]
fn the_process_worker_offloads_and_survives_a_crash() {
    let stdout = common::run_example("process_worker", &[]);
    for step in 1..=5 {
        assert!(
            stdout.contains(&format!("{step}. ")),
            "step {step} missing:\n{stdout}"
        );
    }
    assert!(stdout.contains("primes below 50000: 5133"), "{stdout}");
    assert!(
        stdout.contains("checksum from the child: 3145728"),
        "{stdout}"
    );
    assert!(stdout.contains("beta was ended by signal 6"), "{stdout}");
    assert!(stdout.contains("the queued ask: Err(Dropped)"), "{stdout}");
    assert!(
        stdout.contains("alpha is unaffected: 168 primes"),
        "{stdout}"
    );
    assert!(stdout.contains("alpha exited with code 0"), "{stdout}");
}
