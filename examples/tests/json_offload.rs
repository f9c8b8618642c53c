//! `json_offload` parses in both places, gets the same answer, and reports
//! the ping latency of each.

mod common;

#[test]
fn json_offload_parses_both_ways_and_reports_latencies() {
    let stdout = common::run_example("json_offload", &["--records", "2000"]);
    assert!(stdout.contains("a document of 2000 records"), "{stdout}");
    assert!(
        stdout.contains("parsed 2000 records, mean score 4.950"),
        "{stdout}"
    );
    assert!(stdout.contains("parse inside the isolate:"), "{stdout}");
    assert!(stdout.contains("parse offloaded with run:"), "{stdout}");
    assert_eq!(stdout.matches("worst ping").count(), 2, "{stdout}");
}
