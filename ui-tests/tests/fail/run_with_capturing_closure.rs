fn main() {
    let factor = 3u64;
    let _ = isolate_core::run_with(vec![1u64, 2, 3], move |v| v.iter().sum::<u64>() * factor);
}
