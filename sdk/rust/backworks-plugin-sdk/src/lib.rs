//! Write [Backworks](https://github.com/) edge-gateway plugins in Rust.
//!
//! Implement [`BackworksPlugin`] on a `Default` type and export it with [`export_plugin!`]; build
//! the crate as a `cdylib` and point `backworks.yaml` at the library:
//!
//! ```
//! use backworks_plugin_sdk::*;
//!
//! #[derive(Default)]
//! pub struct MyPlugin;
//!
//! #[async_trait]
//! impl BackworksPlugin for MyPlugin {
//!     fn name(&self) -> &str { "my-plugin" }
//!     fn version(&self) -> &str { "1.0.0" }
//!     fn description(&self) -> &str { "My awesome plugin" }
//!
//!     async fn initialize(&self, _config: &Value) -> PluginResult<()> { Ok(()) }
//!
//!     async fn process_endpoint_data(&self, endpoint: &str, _method: &str, _data: &str) -> PluginResult<Option<String>> {
//!         if endpoint == "/my-feature" {
//!             Ok(Some(json!({"message": "Hello from my plugin!"}).to_string()))
//!         } else {
//!             Ok(None)
//!         }
//!     }
//! }
//!
//! export_plugin!(MyPlugin);
//! ```
//!
//! The macro generates the C ABI of `sdk/c/backworks_plugin.h` (version 1.2): one exported
//! symbol, `bw_plugin_descriptor`, whose static descriptor carries the metadata and the call
//! table. Every call runs under `catch_unwind`, so a panic becomes an error answer (HTTP 500)
//! instead of aborting the host, and async methods run on a small built-in executor (no tokio).
//!
//! `use backworks_plugin_sdk::*;` brings the trait, the error types, the [`Host`] handle,
//! `async_trait`, `serde_json`'s `json!` and `Value`, and the macro.
#![deny(missing_docs)]

pub mod abi;
mod error;
mod executor;
mod export;
mod host;
mod metadata;
mod plugin;
mod worker;

pub use async_trait::async_trait;
pub use error::{PluginError, PluginResult};
pub use executor::block_on;
pub use host::{push_json_string, Host, LogLevel};
pub use plugin::{BackworksPlugin, Capabilities, EndpointReply, HealthStatus, PluginHealth};
pub use serde_json::{self, json, Value};
pub use worker::{Stop, Workers};

#[doc(hidden)]
pub mod __private {
    pub use crate::export::DescriptorCell;
}
