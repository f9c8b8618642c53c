//! `cluster_wordfreq`: three processes count through a real nats-server
//! (the example's own), and the total agrees with one thread's count.

// The examples' runner, shared with the other examples' tests.
#[path = "../../tests/common/mod.rs"]
mod common;

use std::process::Command;

/// Whether this machine has a `nats-server`; without one (and unless CI
/// requires it) the test says so and does not run.
fn has_nats_server() -> bool {
    let found = std::env::var("NATS_SERVER")
        .into_iter()
        .chain(["nats-server".to_owned(), "/usr/sbin/nats-server".to_owned()])
        .any(|binary| Command::new(binary).arg("--version").output().is_ok());
    if !found {
        assert!(
            std::env::var_os("ISOLATE_NATS_REQUIRE_SERVER").is_none(),
            "ISOLATE_NATS_REQUIRE_SERVER is set and no nats-server was found"
        );
        eprintln!("note: no nats-server on this machine, so cluster_wordfreq did not run");
    }
    found
}

#[test]
fn three_processes_share_one_word_count() {
    if !has_nats_server() {
        return;
    }
    let docs = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/src");
    let stdout = common::run_example("cluster_wordfreq", &[docs]);
    assert!(stdout.contains("counted by 3 processes"), "{stdout}");
    for share in 0..3 {
        assert!(
            stdout.contains(&format!("process {share} (pid")),
            "{stdout}"
        );
    }
    assert!(stdout.contains("3 of 3 done"), "{stdout}");
    assert!(
        stdout.contains("checked against one thread: the counts agree"),
        "{stdout}"
    );
}
