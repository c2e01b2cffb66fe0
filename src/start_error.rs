//! Why the server could not start: one sentence for the operator, and the error behind it.

use std::error::Error;
use std::fmt;

#[derive(Debug)]
pub struct StartError {
    sentence: String,
    cause: Option<Box<dyn Error + Send + Sync>>,
}

impl StartError {
    pub fn new(sentence: impl Into<String>) -> StartError {
        StartError {
            sentence: sentence.into(),
            cause: None,
        }
    }

    /// `context: cause`, keeping the cause as `source`.
    pub fn caused(
        context: impl Into<String>,
        cause: impl Into<Box<dyn Error + Send + Sync>>,
    ) -> StartError {
        StartError {
            sentence: context.into(),
            cause: Some(cause.into()),
        }
    }
}

// `context: cause`, the one line start-up has always printed; `source` still hands the cause to
// whoever wants its type or its own causes.
impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.cause {
            Some(cause) => write!(f, "{}: {cause}", self.sentence),
            None => f.write_str(&self.sentence),
        }
    }
}

impl Error for StartError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.cause
            .as_deref()
            .map(|cause| cause as &(dyn Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cause_is_printed_after_the_context_and_kept_as_the_source() {
        let io = std::io::Error::new(std::io::ErrorKind::AddrInUse, "address in use");
        let err = StartError::caused("cannot listen on 127.0.0.1:80", io);
        assert_eq!(
            err.to_string(),
            "cannot listen on 127.0.0.1:80: address in use"
        );
        let source = err.source().map(|s| s.to_string());
        assert_eq!(source.as_deref(), Some("address in use"));
        assert!(StartError::new("no cause").source().is_none());
    }
}
