//! What can go wrong talking to a server; callers act on ARM codes.

/// A failed call.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an ARM error.
    #[error("({code}) {message}")]
    Arm { status: u16, code: String, message: String },
    /// The server could not be reached or answered something that is not ARM.
    #[error("{0}")]
    Transport(String),
}

impl ClientError {
    pub(crate) fn transport(e: impl std::fmt::Display) -> Self {
        Self::Transport(e.to_string())
    }

    /// The ARM error of a non-2xx reply (OAuth errors too).
    pub(crate) fn from_reply(status: u16, body: &serde_json::Value) -> Self {
        let error = &body["error"];
        let (code, message) = if error.is_object() {
            (error["code"].as_str(), error["message"].as_str())
        } else {
            (error.as_str(), body["error_description"].as_str())
        };
        Self::Arm {
            status,
            code: code.unwrap_or("HttpError").to_string(),
            message: message.map_or_else(|| format!("the server answered {status}"), str::to_string),
        }
    }
}
