//! Where a session keeps its sequence numbers and sent messages: the host's durable state
//! (committed with the documents of the same batch, in one transaction), or memory.

use backworks_plugin_sdk::{Host, Value};

pub trait Persistence: Send + Sync {
    /// A value committed earlier, or None.
    fn load(&self, key: &str) -> Result<Option<String>, String>;
    /// Commits documents and state writes together; returns once committed.
    fn commit(&self, documents: &[Value], state: &[(String, String)]) -> Result<(), String>;
    /// Hands readings to the buffer (fire-and-forget).
    fn emit(&self, _readings: &[Value]) {}
    /// This plugin's stored documents after `after_id` (the API's message list).
    fn documents(&self, _after_id: i64, _limit: usize) -> Result<Vec<Value>, String> {
        Ok(Vec::new())
    }
}

/// The host's SQLite buffer, through `Host::commit` (ABI 1.1).
pub struct HostStore {
    pub host: Host,
}

impl Persistence for HostStore {
    fn load(&self, key: &str) -> Result<Option<String>, String> {
        self.host.state_get(key).map_err(|e| e.to_string())
    }

    fn commit(&self, documents: &[Value], state: &[(String, String)]) -> Result<(), String> {
        self.host.commit(documents, state).map(|_| ()).map_err(|e| e.to_string())
    }

    fn emit(&self, readings: &[Value]) {
        if !readings.is_empty() {
            let _ = self.host.emit(&Value::Array(readings.to_vec()));
        }
    }

    fn documents(&self, after_id: i64, limit: usize) -> Result<Vec<Value>, String> {
        let query = serde_json::json!({ "type": "fix", "after_id": after_id, "limit": limit, "with_body": true });
        self.host.documents_query(&query).map_err(|e| e.to_string())
    }
}

/// No persistence (`persist: false`): numbers restart at 1 with the plugin.
pub struct MemoryStore;

impl Persistence for MemoryStore {
    fn load(&self, _key: &str) -> Result<Option<String>, String> {
        Ok(None)
    }

    fn commit(&self, _documents: &[Value], _state: &[(String, String)]) -> Result<(), String> {
        Ok(())
    }
}
