//! The README's "Common mistakes" quote the compiler: each message there is,
//! word for word, the first line of a compile-fail case's expected output,
//! so a change of wording shows here as well as in the `.stderr`.

use std::path::Path;

/// The error lines of the README's "Common mistakes" section.
fn quoted_messages() -> Vec<String> {
    let readme = include_str!("../README.md");
    let start = readme
        .find("### Common mistakes")
        .expect("the README has a Common mistakes section");
    let section = &readme[start..];
    let end = section[3..].find("\n#").map_or(section.len(), |i| i + 3);
    section[..end]
        .lines()
        .filter(|line| line.starts_with("error"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_common_mistakes_quote_the_compiler_word_for_word() {
    let messages = quoted_messages();
    assert_eq!(messages.len(), 5, "{messages:#?}");
    let fail = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui/fail");
    let first_lines: Vec<String> = std::fs::read_dir(&fail)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "stderr"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            text.lines().next().unwrap_or_default().to_owned()
        })
        .collect();
    for message in &messages {
        assert!(
            first_lines.contains(message),
            "no case in tests/ui/fail/ begins with the README's {message:?}"
        );
    }
}
