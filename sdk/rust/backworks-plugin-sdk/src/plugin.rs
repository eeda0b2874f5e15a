//! The `BackworksPlugin` trait and the metadata types it reports.

use async_trait::async_trait;
use serde_json::{json, Value};

use crate::error::{PluginError, PluginResult};
use crate::host::Host;

/// Which calls a plugin implements, as the bitmask of the descriptor (`BW_CAP_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities(pub u64);

impl Capabilities {
    /// Answers endpoint calls (`process_endpoint_data`).
    pub const ENDPOINT: Capabilities = Capabilities(crate::abi::BW_CAP_ENDPOINT);
    /// Runs `before_request` for every configured endpoint.
    pub const BEFORE_REQUEST: Capabilities = Capabilities(crate::abi::BW_CAP_BEFORE_REQUEST);
    /// Runs `after_response` for every configured endpoint.
    pub const AFTER_RESPONSE: Capabilities = Capabilities(crate::abi::BW_CAP_AFTER_RESPONSE);
    /// Emits readings or documents from its own threads.
    pub const CONNECTOR: Capabilities = Capabilities(crate::abi::BW_CAP_CONNECTOR);
    /// Accepts `write` calls.
    pub const WRITE: Capabilities = Capabilities(crate::abi::BW_CAP_WRITE);
    /// Applies `on_config_reload` without a restart.
    pub const CONFIG_RELOAD: Capabilities = Capabilities(crate::abi::BW_CAP_CONFIG_RELOAD);

    /// Whether every bit of `other` is set.
    pub fn contains(self, other: Capabilities) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for Capabilities {
    type Output = Capabilities;
    fn bitor(self, rhs: Capabilities) -> Capabilities {
        Capabilities(self.0 | rhs.0)
    }
}

/// An endpoint answer with its HTTP status, content type and bytes (what
/// [`BackworksPlugin::process_endpoint_bytes`] returns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointReply {
    /// 200 to 599; 0 answers 200. An error status is better returned as a [`PluginError`].
    pub status: u16,
    /// e.g. `"application/octet-stream"`; `None`: JSON-looking bodies go as `application/json`,
    /// others as `text/plain`.
    pub content_type: Option<String>,
    /// The answer's bytes.
    pub body: Vec<u8>,
}

impl EndpointReply {
    /// A 200 answer with a text body, its content type guessed as for `process_endpoint_data`.
    pub fn text(body: String) -> Self {
        EndpointReply { status: 0, content_type: None, body: body.into_bytes() }
    }

    /// A 200 answer with bytes of the given content type.
    pub fn bytes(content_type: impl Into<String>, body: Vec<u8>) -> Self {
        EndpointReply { status: 0, content_type: Some(content_type.into()), body }
    }

    /// The same answer with another HTTP status (201, 202, ...).
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }
}

/// `healthy`, `degraded` or `unhealthy`, as `/health` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthStatus {
    /// Working normally.
    Healthy,
    /// Working, with a problem worth showing (a device offline).
    Degraded,
    /// Not working.
    Unhealthy,
}

/// What `health_check` reports.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginHealth {
    /// Overall status.
    pub status: HealthStatus,
    /// A short explanation, shown beside the status.
    pub message: Option<String>,
    /// Small structured details (device counts, session states).
    pub details: Option<Value>,
}

impl PluginHealth {
    /// Healthy, without message.
    pub fn healthy() -> Self {
        PluginHealth { status: HealthStatus::Healthy, message: None, details: None }
    }

    /// The JSON the ABI carries: `{"status", "message"?, "details"?}`.
    pub fn to_json(&self) -> Value {
        let status = match self.status {
            HealthStatus::Healthy => "healthy",
            HealthStatus::Degraded => "degraded",
            HealthStatus::Unhealthy => "unhealthy",
        };
        let mut health = json!({ "status": status });
        if let Some(message) = &self.message {
            health["message"] = json!(message);
        }
        if let Some(details) = &self.details {
            health["details"] = details.clone();
        }
        health
    }
}

/// A Backworks plugin. Implement it on a `Default` type and export it with
/// [`export_plugin!`](crate::export_plugin).
///
/// Methods take `&self` and may run concurrently from several host threads (up to the plugin's
/// `limits.concurrency`): keep mutable state behind a `Mutex` or atomics. Only `name` and
/// `initialize` are required; every other method has a default that does nothing useful.
#[async_trait]
pub trait BackworksPlugin: Send + Sync + 'static {
    /// The plugin's name, e.g. `"my-plugin"`. Read without initializing (`plugin inspect`).
    fn name(&self) -> &str;

    /// The plugin's own version, e.g. `"1.0.0"`.
    fn version(&self) -> &str {
        "0.0.0"
    }

    /// One line saying what the plugin does.
    fn description(&self) -> &str {
        ""
    }

    /// Which calls the plugin implements; the host routes only those. Default: endpoint calls.
    fn capabilities(&self) -> Capabilities {
        Capabilities::ENDPOINT
    }

    /// JSON Schema of the plugin's `config:`; `backworks check` validates against it.
    fn config_schema(&self) -> Option<Value> {
        None
    }

    /// Receives the host handle (emit, state, log) before `initialize`. Keep it if you need it,
    /// e.g. in a `std::sync::OnceLock<Host>` field.
    fn attach_host(&self, host: Host) {
        let _ = host;
    }

    /// Applies the configuration and starts the plugin's work.
    async fn initialize(&self, config: &Value) -> PluginResult<()>;

    /// Answers an endpoint call: `endpoint` is the request path, `data` the raw body.
    /// `Ok(None)` means "not mine".
    async fn process_endpoint_data(&self, endpoint: &str, method: &str, data: &str) -> PluginResult<Option<String>> {
        let _ = (endpoint, method, data);
        Ok(None)
    }

    /// Answers an endpoint call with the body as bytes, exactly as the client sent it (NUL bytes,
    /// bytes that are not UTF-8), choosing the answer's status and content type (ABI 1.2's
    /// `process_endpoint_data_v2`). `Ok(None)` means "not mine". The default reads the body as
    /// UTF-8 (`BadRequest` when it is not) and asks [`process_endpoint_data`](Self::process_endpoint_data).
    async fn process_endpoint_bytes(&self, endpoint: &str, method: &str, data: &[u8]) -> PluginResult<Option<EndpointReply>> {
        let text = std::str::from_utf8(data).map_err(|_| PluginError::BadRequest("data is not UTF-8".into()))?;
        Ok(self.process_endpoint_data(endpoint, method, text).await?.map(EndpointReply::text))
    }

    /// Runs before every configured endpoint (needs [`Capabilities::BEFORE_REQUEST`]).
    /// Return `Some(request)` with changed `headers`/`body`, `None` to leave it, or an error to
    /// reject the request.
    async fn before_request(&self, request: &Value) -> PluginResult<Option<Value>> {
        let _ = request;
        Ok(None)
    }

    /// Runs after every configured endpoint (needs [`Capabilities::AFTER_RESPONSE`]).
    /// Return `Some(response)` with changed `headers`/`body`, or `None` to leave it.
    async fn after_response(&self, request: &Value, response: &Value) -> PluginResult<Option<Value>> {
        let _ = (request, response);
        Ok(None)
    }

    /// Reports health; default healthy.
    async fn health_check(&self) -> PluginResult<PluginHealth> {
        Ok(PluginHealth::healthy())
    }

    /// Applies a changed configuration (needs [`Capabilities::CONFIG_RELOAD`]).
    async fn on_config_reload(&self, config: &Value) -> PluginResult<()> {
        let _ = config;
        Err(PluginError::Unsupported("on_config_reload".into()))
    }

    /// Writes a writable point of a device (needs [`Capabilities::WRITE`]).
    async fn write(&self, device: &str, point: &str, value: &Value) -> PluginResult<()> {
        let _ = (device, point, value);
        Err(PluginError::Unsupported("write".into()))
    }

    /// Stops the plugin's work; must join every thread it started.
    async fn shutdown(&self) -> PluginResult<()> {
        Ok(())
    }
}
