use isolate_core::AssertSendable;

// Vouching for a value is a promise the compiler cannot check: only an
// `unsafe` block makes one.
fn main() {
    let _vouched = AssertSendable::new(std::cell::Cell::new(1u8));
}
