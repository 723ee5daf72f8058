//! The one error type of this crate: bad client input, answered with 400 `InputError`.

/// A request parameter, body, cursor or entity that the catalog rejects as bad input.
///
/// Messages follow Backstage's `InputError` messages so clients that show them see familiar text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// Invalid input; Backstage answers it with `InputError` (HTTP 400).
    #[error("{0}")]
    Input(String),
}

impl QueryError {
    /// Builds an input error from its message.
    pub(crate) fn input(message: impl Into<String>) -> Self {
        Self::Input(message.into())
    }

    /// The human-readable message (the `error.message` of the response body).
    pub fn message(&self) -> &str {
        match self {
            Self::Input(message) => message,
        }
    }

    /// The Backstage error name (the `error.name` of the response body).
    pub fn name(&self) -> &'static str {
        "InputError"
    }

    /// The HTTP status Backstage answers this error with.
    pub fn status_code(&self) -> u16 {
        400
    }
}
