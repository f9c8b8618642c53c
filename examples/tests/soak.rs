//! The soak binary runs (one second here; minutes by hand) and ends clean.

mod common;

#[test]
fn a_one_second_soak_ends_with_threads_back_at_the_baseline() {
    let stdout = common::run_example("soak", &["1"]);
    assert!(stdout.contains("threads:"), "{stdout}");
    assert!(stdout.trim_end().ends_with("ok"), "{stdout}");
}
