fn main() {
    let offset = 10u64;
    // Captures `offset`: put it in each item instead.
    let _ = isolate_core::run_many(1..=3u64, move |n| n + offset);
}
