//! Backworks finance pack: a FIX 4.2/4.4 session engine (initiator and acceptor) as a native
//! plugin. See README.md for configuration, behaviour and figures.

pub mod api;
mod committer;
pub mod config;
pub mod dictionary;
pub mod engine;
pub mod message;
mod inbound;
mod outbound;
mod plugin;
pub mod sent;
pub mod session;
pub mod store;
pub mod time;
pub mod validate;
pub mod wire;

pub use plugin::FixPlugin;

backworks_plugin_sdk::export_plugin!(FixPlugin);
