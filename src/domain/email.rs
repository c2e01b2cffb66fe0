//! E-mail address checks. Only ASCII addresses are accepted, on purpose: without IDNA
//! normalisation, `bücher.de` and `xn--bcher-kva.de` would be two accounts for one mailbox.

use std::ops::Deref;

pub const EMAIL_MAX_CHARS: usize = 255;

/// A valid address, trimmed and lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, String> {
        let email = normalize(raw);
        match problem(&email) {
            None => Ok(Email(email)),
            Some(problem) => Err(problem),
        }
    }
}

impl Deref for Email {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

/// How addresses are compared: sign-in looks up what the person typed in this form.
pub fn normalize(raw: &str) -> String {
    raw.trim().to_lowercase()
}

/// The problem with an already normalised address, if any. Only ASCII passes, so bytes are characters.
fn problem(email: &str) -> Option<String> {
    if email.is_empty() {
        return Some("Email is required".into());
    }
    if email.len() > EMAIL_MAX_CHARS {
        return Some(format!(
            "Email must be at most {EMAIL_MAX_CHARS} characters long"
        ));
    }
    if !email.is_ascii() {
        return Some("Email must contain only ASCII characters (write an international domain in its xn-- form)".into());
    }
    if email
        .bytes()
        .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        return Some("Email must not contain spaces".into());
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Some("Email must contain an @ between the name and the domain".into());
    };
    if domain.contains('@') {
        return Some("Email must contain exactly one @".into());
    }
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b));
    if !local_ok {
        return Some(
            "Email must be a valid address: the part before @ has characters that are not allowed"
                .into(),
        );
    }
    if !domain.contains('.') {
        return Some(
            "Email must be a valid address: the domain needs a dot, as in example.com".into(),
        );
    }
    let labels_ok = domain.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    });
    let tld = domain.rsplit('.').next().unwrap_or("");
    if !labels_ok || tld.len() < 2 || tld.bytes().all(|b| b.is_ascii_digit()) {
        return Some("Email must be a valid address: the domain is not valid".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_addresses_pass() {
        for ok in [
            "a@b.co",
            "first.last+tag@mail.example.com",
            "x@xn--bcher-kva.de",
            "o'neil@example.org",
        ] {
            assert_eq!(problem(ok), None, "{ok}");
        }
    }

    #[test]
    fn broken_addresses_fail() {
        for bad in [
            "",
            "plain",
            "a@b",
            "a@@b.com",
            "a@b@c.com",
            "a b@c.com",
            ".a@b.com",
            "a..b@c.com",
            "a@-b.com",
            "a@b..com",
            "a@bücher.de",
            "a@b.c",
            "a@1.23",
        ] {
            assert!(problem(bad).is_some(), "{bad}");
        }
    }
}
