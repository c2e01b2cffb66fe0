//! The rules for a new password. bcrypt reads at most 72 bytes, so a longer password is refused
//! rather than silently truncated.

pub const PASSWORD_MIN_CHARS: usize = 8;
pub const PASSWORD_MAX_BYTES: usize = 72;

/// A new password that follows every rule. Not `Debug`, so it cannot end up in a log line.
pub struct Password(String);

impl Password {
    /// Every rule the password breaks, in a fixed order.
    pub fn parse(raw: &str) -> Result<Password, Vec<String>> {
        let problems = problems(raw);
        if problems.is_empty() {
            Ok(Password(raw.to_string()))
        } else {
            Err(problems)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn problems(password: &str) -> Vec<String> {
    let mut out = Vec::new();
    if password.chars().count() < PASSWORD_MIN_CHARS {
        out.push(format!(
            "Password must be at least {PASSWORD_MIN_CHARS} characters long"
        ));
    }
    if password.len() > PASSWORD_MAX_BYTES {
        out.push(format!("Password must be at most {PASSWORD_MAX_BYTES} bytes long (bcrypt's limit; multi-byte characters count more than once)"));
    }
    if !password.chars().any(char::is_uppercase) {
        out.push("Password must contain at least one uppercase letter".into());
    }
    if !password.chars().any(char::is_lowercase) {
        out.push("Password must contain at least one lowercase letter".into());
    }
    if !password.chars().any(|c| c.is_numeric()) {
        out.push("Password must contain at least one digit".into());
    }
    if password.chars().all(char::is_alphanumeric) {
        out.push("Password must contain at least one special character".into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_good_password_has_no_problems() {
        assert!(Password::parse("Abcdef1!").is_ok());
        assert_eq!(
            Password::parse("abcdefg1!").err().unwrap(),
            ["Password must contain at least one uppercase letter"]
        );
    }

    #[test]
    fn a_password_over_72_bytes_is_refused_by_its_byte_count() {
        let ok = format!("Aa1!{}", "x".repeat(68));
        assert!(Password::parse(&ok).is_ok());
        let long = format!("Aa1!{}", "é".repeat(35));
        assert!(Password::parse(&long).err().unwrap()[0].contains("72 bytes"));
    }
}
