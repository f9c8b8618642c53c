//! Compile-fail and compile-pass cases for `isolate-core`'s guarantees, run
//! with trybuild by `cargo test -p ui-tests`. Each refused type has its own
//! case, and each `.stderr` is part of the product: read it as a user would.
