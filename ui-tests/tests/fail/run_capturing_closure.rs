fn main() {
    let data = vec![1, 2, 3];
    // Captures `data`: pass it with `run_with(data, |data| ...)` instead.
    let _ = isolate_core::run(move || data.len());
}
