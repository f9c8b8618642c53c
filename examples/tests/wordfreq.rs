//! `wordfreq` counts a directory's words with isolates, agrees with the
//! one-thread count (the example asserts it), and prints the top words.

mod common;

#[test]
fn wordfreq_counts_a_directory() {
    let dir = std::env::temp_dir().join(format!("isolate-wordfreq-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("nested")).unwrap();
    // 20 files, in a few batches.
    for i in 0..19 {
        std::fs::write(dir.join(format!("{i}.txt")), "the cat sat on the mat. cat!").unwrap();
    }
    std::fs::write(dir.join("nested/deep.md"), "Cat and dog").unwrap();
    std::fs::write(dir.join("skipped.bin"), "cat cat cat").unwrap();

    let stdout = common::run_example("wordfreq", &[dir.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(stdout.contains("wordfreq: 20 files under"), "{stdout}");
    // 19 × (cat, sat, mat, cat) + (cat, dog): stop words left out.
    assert!(stdout.contains("78 words counted"), "{stdout}");
    assert!(stdout.contains(" batch isolates on "), "{stdout}");
    let top: Vec<&str> = stdout
        .lines()
        .skip_while(|l| l.trim() != "top words:")
        .skip(1)
        .collect();
    assert_eq!(
        top[0].split_whitespace().collect::<Vec<_>>(),
        ["39", "cat"],
        "{stdout}"
    );
}
