//! The README's demo runs and says what it should.

mod common;

#[test]
fn the_tour_runs_and_reports_every_step() {
    let stdout = common::run_example("tour", &[]);
    for step in 1..=11 {
        assert!(
            stdout.contains(&format!("{step}. ")),
            "step {step} missing:\n{stdout}"
        );
    }
    assert!(stdout.contains("12² = 144"));
    assert!(stdout.contains("(same address)"));
    assert!(stdout.contains("answered a ping while paused (pong), counted 3 words once resumed"));
    assert!(stdout.contains("controlled has ended"));
    assert!(stdout.contains("an async handler asked another isolate: 18 words in both"));
    assert!(stdout.contains("5133 primes"));
    assert!(stdout.contains("10000 answered"));
    assert!(stdout.contains("Err(Dropped)"));
    assert!(stdout.contains("crashed and restarted 1 time, same port: it now knows 2 words"));
}
