//! Every compile-time rule of isolate-core, as trybuild cases.
//!
//! To update the snapshots after an intended change to an error message:
//! `TRYBUILD=overwrite cargo test -p ui-tests`, then read every changed
//! `.stderr`.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/pass/*.rs");
    cases.compile_fail("tests/fail/*.rs");
}
