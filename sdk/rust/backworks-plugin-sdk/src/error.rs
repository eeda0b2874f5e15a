//! Errors a plugin returns; each chooses the HTTP status its caller sees.

use std::error::Error;
use std::fmt;

/// What went wrong in a plugin call. Returned through the ABI as a negative status and a message.
#[non_exhaustive]
#[derive(Debug)]
pub enum PluginError {
    /// The `config:` block is unusable (answered as HTTP 500, reported at initialize).
    InvalidConfig(String),
    /// The caller sent something the plugin cannot accept (HTTP 400).
    BadRequest(String),
    /// The thing asked for does not exist (HTTP 404).
    NotFound(String),
    /// A device or upstream the plugin needs is down (HTTP 503). An answer: the plugin's circuit
    /// breaker does not count it.
    Unavailable(String),
    /// A device or upstream the plugin waited for did not answer in time (HTTP 504).
    Timeout(String),
    /// Any other status the plugin chooses, 400 to 599 (409, 422, 502, ...); outside that range,
    /// or 500, it is an internal error.
    Status(u16, String),
    /// The plugin does not implement this call (HTTP 501).
    Unsupported(String),
    /// A host API call (emit, state) failed.
    Host(String),
    /// A panic in the plugin, caught at the ABI boundary.
    Panic(String),
    /// Any other failure (HTTP 500).
    Internal(String),
    /// An error of another library, kept as the source.
    Other(Box<dyn Error + Send + Sync + 'static>),
}

/// The result of every plugin call.
pub type PluginResult<T> = Result<T, PluginError>;

impl PluginError {
    /// An internal error with a message: `PluginError::new("device not responding")`.
    pub fn new(message: impl Into<String>) -> Self {
        PluginError::Internal(message.into())
    }

    /// The HTTP status the client sees for this error. Every status but 500 is the plugin's answer
    /// and goes through the ABI as its negative (-503); 500 goes as `BW_ERR`, which the host counts
    /// as a failure of the plugin (the contract of `backworks_plugin.h`, STATUS CODES).
    pub fn status_code(&self) -> u16 {
        match self {
            PluginError::BadRequest(_) => 400,
            PluginError::NotFound(_) => 404,
            PluginError::Unsupported(_) => 501,
            PluginError::Unavailable(_) => 503,
            PluginError::Timeout(_) => 504,
            PluginError::Status(code, _) if (400..=599).contains(code) => *code,
            _ => 500,
        }
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PluginError::InvalidConfig(m) => write!(f, "invalid config: {m}"),
            PluginError::BadRequest(m) => write!(f, "bad request: {m}"),
            PluginError::NotFound(m) => write!(f, "not found: {m}"),
            PluginError::Unavailable(m) => write!(f, "unavailable: {m}"),
            PluginError::Timeout(m) => write!(f, "timed out: {m}"),
            PluginError::Status(_, m) => f.write_str(m),
            PluginError::Unsupported(m) => write!(f, "unsupported: {m}"),
            PluginError::Host(m) => write!(f, "host call failed: {m}"),
            PluginError::Panic(m) => write!(f, "plugin panicked: {m}"),
            PluginError::Internal(m) => f.write_str(m),
            PluginError::Other(e) => write!(f, "{e}"),
        }
    }
}

impl Error for PluginError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            PluginError::Other(e) => Some(e.as_ref()),
            _ => None,
        }
    }
}

impl From<serde_json::Error> for PluginError {
    fn from(e: serde_json::Error) -> Self {
        PluginError::Other(Box::new(e))
    }
}

impl From<std::io::Error> for PluginError {
    fn from(e: std::io::Error) -> Self {
        PluginError::Other(Box::new(e))
    }
}

impl From<String> for PluginError {
    fn from(message: String) -> Self {
        PluginError::Internal(message)
    }
}

impl From<&str> for PluginError {
    fn from(message: &str) -> Self {
        PluginError::Internal(message.to_owned())
    }
}
