//! A task's labels: at most 20, each trimmed, 1 to 50 characters, no control characters. Two
//! spellings that differ only in letter case are one tag: the first spelling and position are kept.

use std::collections::HashSet;
use std::ops::Deref;

pub const TAGS_MAX: usize = 20;
pub const TAG_MAX_CHARS: usize = 50;

/// One label, trimmed and within its limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag(String);

impl Tag {
    pub fn parse(raw: &str) -> Result<Tag, String> {
        let tag = raw.trim();
        match tag.chars().count() {
            0 => Err("Tag must not be empty".into()),
            n if n > TAG_MAX_CHARS => Err(format!(
                "Tag must be at most {TAG_MAX_CHARS} characters long"
            )),
            _ if tag.chars().any(char::is_control) => {
                Err("Tag must not contain control characters".into())
            }
            _ => Ok(Tag(tag.to_string())),
        }
    }
}

impl Deref for Tag {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

/// A task's whole list of tags, duplicates collapsed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tags(Vec<String>);

impl Tags {
    /// Every problem, one sentence each, naming the position of a bad tag.
    pub fn parse<'a>(raw: impl IntoIterator<Item = &'a str>) -> Result<Tags, Vec<String>> {
        let mut kept = Vec::new();
        let mut seen = HashSet::new();
        let mut problems = Vec::new();
        for (i, raw) in raw.into_iter().enumerate() {
            match Tag::parse(raw) {
                Ok(tag) => {
                    if seen.insert(tag.to_lowercase()) {
                        kept.push(tag.0);
                    }
                }
                Err(problem) => problems.push(format!("{problem} (tag {})", i + 1)),
            }
        }
        if kept.len() > TAGS_MAX {
            problems.push(format!("A task can have at most {TAGS_MAX} tags"));
        }
        if problems.is_empty() {
            Ok(Tags(kept))
        } else {
            Err(problems)
        }
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_trimmed_and_collapsed_by_case_keeping_the_first_spelling_and_order() {
        let tags = Tags::parse([" Work", "home", "WORK", "Home ", "ärger", "Ärger"]).unwrap();
        assert_eq!(tags.as_slice(), ["Work", "home", "ärger"]);
    }

    #[test]
    fn bad_tags_are_refused_with_their_position() {
        let problems = Tags::parse(["ok", " ", "a\tb", &"x".repeat(51)]).unwrap_err();
        assert_eq!(
            problems,
            [
                "Tag must not be empty (tag 2)",
                "Tag must not contain control characters (tag 3)",
                "Tag must be at most 50 characters long (tag 4)",
            ]
        );
        let longest = "é".repeat(50);
        assert!(Tags::parse([longest.as_str()]).is_ok());
    }

    #[test]
    fn at_most_twenty_distinct_tags() {
        let many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
        assert!(Tags::parse(many.iter().map(String::as_str)).is_err());
        let dupes: Vec<String> = (0..30).map(|i| format!("T{}", i % 20)).collect();
        assert_eq!(
            Tags::parse(dupes.iter().map(String::as_str))
                .unwrap()
                .as_slice()
                .len(),
            20
        );
    }
}
