//! The soak binary runs (one second here; minutes by hand) and ends clean.

use std::process::Command;

#[test]
fn a_one_second_soak_ends_with_threads_back_at_the_baseline() {
    let output = Command::new(env!("CARGO"))
        .args(["run", "--quiet", "--example", "soak", "--", "1"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "soak failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("threads:"), "{stdout}");
    assert!(stdout.trim_end().ends_with("ok"), "{stdout}");
}
