//! Where a session keeps its sequence numbers and sent messages: the host's durable state
//! (committed with the documents of the same batch, in one transaction), or memory.

use backworks_plugin_sdk::{push_json_string, Host, Value};

pub trait Persistence: Send + Sync {
    /// A value committed earlier, or None.
    fn load(&self, key: &str) -> Result<Option<String>, String>;
    /// Commits documents (JSON objects separated by commas, see `Output::documents`) and state
    /// writes together; returns once committed.
    fn commit(&self, documents: &str, state: &[(String, String)]) -> Result<(), String>;
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

    fn commit(&self, documents: &str, state: &[(String, String)]) -> Result<(), String> {
        let size = documents.len() + state.iter().map(|(k, v)| k.len() + v.len() + 16).sum::<usize>() * 9 / 8 + 32;
        let mut batch = String::with_capacity(size);
        batch.push_str("{\"documents\":[");
        batch.push_str(documents);
        batch.push_str("],\"state\":[");
        for (i, (key, value)) in state.iter().enumerate() {
            batch.push_str(if i == 0 { "[" } else { ",[" });
            push_json_string(&mut batch, key);
            batch.push(',');
            push_json_string(&mut batch, value);
            batch.push(']');
        }
        batch.push_str("]}");
        self.host.commit_json(&batch).map(|_| ()).map_err(|e| e.to_string())
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

    fn commit(&self, _documents: &str, _state: &[(String, String)]) -> Result<(), String> {
        Ok(())
    }
}
