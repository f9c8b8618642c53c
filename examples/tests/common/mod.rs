//! Runs an example the way a user would, and hands back what it printed.

use std::process::Command;

/// `cargo run --quiet --example <name> -- <args>`; fails the test, with the
/// example's output, if it does not exit successfully.
pub fn run_example(name: &str, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO"))
        .args(["run", "--quiet", "--example", name, "--"])
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{name} failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}
