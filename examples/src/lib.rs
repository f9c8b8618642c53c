//! Example applications, and what two of them share.

/// Counting the words of text files: shared by `wordfreq` and
/// `cluster_wordfreq`.
pub mod words {
    use std::collections::{HashMap, HashSet};
    use std::path::{Path, PathBuf};

    /// Words too common to count.
    pub const STOP_WORDS: &[&str] = &[
        "the", "a", "an", "and", "or", "of", "to", "in", "is", "it", "that", "for", "on", "with",
        "as", "be", "by", "this", "at", "are", "not", "from", "its", "if", "can", "when", "one",
        "so", "no",
    ];

    /// The words of `files`, counted, without `stop_words`.
    pub fn count_files(files: &[PathBuf], stop_words: &HashSet<String>) -> HashMap<String, u64> {
        let mut counts = HashMap::new();
        for file in files {
            // A file that is not UTF-8 text is skipped.
            let Ok(text) = std::fs::read_to_string(file) else {
                continue;
            };
            for word in text
                .split(|c: char| !c.is_alphanumeric() && c != '\'')
                .map(|word| word.trim_matches('\'').to_lowercase())
                .filter(|word| word.len() > 1 && !word.chars().all(|c| c.is_ascii_digit()))
            {
                if !stop_words.contains(&word) {
                    *counts.entry(word).or_insert(0) += 1;
                }
            }
        }
        counts
    }

    /// The `n` most frequent words, the most frequent first (ties by word).
    pub fn top(counts: &HashMap<String, u64>, n: usize) -> Vec<(String, u64)> {
        let mut top: Vec<_> = counts.iter().map(|(word, n)| (word.clone(), *n)).collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        top.truncate(n);
        top
    }

    /// The text files under `dir`, skipping build output and hidden folders.
    pub fn collect(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            let name = path
                .file_name()
                .and_then(|name| name.to_str())
                .unwrap_or("");
            if path.is_dir() {
                if !name.starts_with('.') && name != "target" {
                    collect(&path, files)?;
                }
            } else if ["rs", "md", "toml", "txt"]
                .iter()
                .any(|ext| path.extension().is_some_and(|e| e == *ext))
            {
                files.push(path);
            }
        }
        Ok(())
    }
}
