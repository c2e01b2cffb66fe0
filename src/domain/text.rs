//! Bounded text fields: a person's name, a task's title and description. Lengths count characters.

use std::ops::Deref;

pub const NAME_MIN_CHARS: usize = 2;
pub const NAME_MAX_CHARS: usize = 100;
pub const TITLE_MAX_CHARS: usize = 200;
pub const DESCRIPTION_MAX_CHARS: usize = 1000;
pub const LIST_NAME_MAX_CHARS: usize = 100;

/// A display name: trimmed, 2 to 100 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

/// A task title: trimmed, 1 to 200 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title(String);

/// A task description: at most 1000 characters, kept as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description(String);

impl Name {
    pub fn parse(raw: &str) -> Result<Name, String> {
        let name = raw.trim();
        match name.chars().count() {
            n if n < NAME_MIN_CHARS => Err(format!(
                "Name must be at least {NAME_MIN_CHARS} characters long"
            )),
            n if n > NAME_MAX_CHARS => Err(format!(
                "Name must be at most {NAME_MAX_CHARS} characters long"
            )),
            _ => Ok(Name(name.to_string())),
        }
    }
}

impl Title {
    pub fn parse(raw: &str) -> Result<Title, String> {
        let title = raw.trim();
        match title.chars().count() {
            0 => Err("Title must not be empty".into()),
            n if n > TITLE_MAX_CHARS => Err(format!(
                "Title must be at most {TITLE_MAX_CHARS} characters long"
            )),
            _ => Ok(Title(title.to_string())),
        }
    }
}

/// A list's name: trimmed, 1 to 100 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListName(String);

impl ListName {
    pub fn parse(raw: &str) -> Result<ListName, String> {
        let name = raw.trim();
        match name.chars().count() {
            0 => Err("List name must not be empty".into()),
            n if n > LIST_NAME_MAX_CHARS => Err(format!(
                "List name must be at most {LIST_NAME_MAX_CHARS} characters long"
            )),
            _ => Ok(ListName(name.to_string())),
        }
    }
}

/// A list's colour: `#rrggbb`, kept lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Color(String);

impl Color {
    pub fn parse(raw: &str) -> Result<Color, String> {
        let hex = raw.strip_prefix('#').unwrap_or("");
        if hex.len() == 6 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(Color(raw.to_ascii_lowercase()));
        }
        Err("Color must be #rrggbb (six hexadecimal digits) or null".into())
    }
}

impl Description {
    pub fn parse(raw: &str) -> Result<Description, String> {
        if raw.chars().count() > DESCRIPTION_MAX_CHARS {
            return Err(format!(
                "Description must be at most {DESCRIPTION_MAX_CHARS} characters long"
            ));
        }
        Ok(Description(raw.to_string()))
    }
}

macro_rules! as_str {
    ($($t:ty),*) => {$(
        impl Deref for $t {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }
    )*};
}
as_str!(Name, Title, Description, ListName, Color);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_bounded_in_characters_not_bytes() {
        assert_eq!(&*Name::parse("  Ada ").unwrap(), "Ada");
        assert!(Name::parse(" A ").is_err());
        assert!(Name::parse(&"é".repeat(100)).is_ok());
        assert!(Title::parse(&"é".repeat(200)).is_ok());
        assert_eq!(
            Title::parse(&"x".repeat(201)).unwrap_err(),
            "Title must be at most 200 characters long"
        );
        assert_eq!(Title::parse("   ").unwrap_err(), "Title must not be empty");
        assert_eq!(&*Description::parse(" kept ").unwrap(), " kept ");
        assert!(Description::parse(&"x".repeat(1001)).is_err());
    }
}
