//! What can go wrong talking to a server; callers act on ARM codes.

use galleon_api_types::ErrorResponse;

/// A failed call.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an ARM error (`target` names the offending field, if any).
    #[error("({code}) {message}")]
    Arm { status: u16, code: String, message: String, target: Option<String> },
    /// The server could not be reached or answered something that is not HTTP.
    #[error("{0}")]
    Transport(String),
    /// A 2xx answer that is not the document asked for.
    #[error("the server's answer could not be read: {0}")]
    Decode(String),
}

impl ClientError {
    pub(crate) fn transport(e: impl std::fmt::Display) -> Self {
        Self::Transport(e.to_string())
    }

    /// The ARM error this stands for — status, code, message, target: the server's answer, or
    /// for a server that could not be reached or read, 500 `InternalError` saying what failed.
    pub fn into_arm(self) -> (u16, String, String, Option<String>) {
        match self {
            Self::Arm { status, code, message, target } => (status, code, message, target),
            other => (500, "InternalError".into(), other.to_string(), None),
        }
    }

    /// The ARM error of a non-2xx reply (OAuth errors too).
    pub(crate) fn from_reply(status: u16, body: &serde_json::Value) -> Self {
        if let Ok(ErrorResponse { error }) = serde_json::from_value::<ErrorResponse>(body.clone()) {
            return Self::Arm { status, code: error.code, message: error.message, target: error.target };
        }
        // OAuth: {"error": "invalid_client", "error_description": "…"}.
        Self::Arm {
            status,
            code: body["error"].as_str().unwrap_or("HttpError").to_string(),
            message: body["error_description"]
                .as_str()
                .map_or_else(|| format!("the server answered {status}"), str::to_string),
            target: None,
        }
    }
}
