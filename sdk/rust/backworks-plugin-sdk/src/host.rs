//! The handle through which a plugin calls the host: log, emit, durable emit, state.

use std::ffi::{c_char, c_void, CStr, CString};

use serde_json::Value;

use crate::abi::{self, bw_type_host_api, ContextPtr};
use crate::error::{PluginError, PluginResult};

/// Log levels for [`Host::log`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum LogLevel {
    /// Very detailed.
    Trace = 0,
    /// Detailed.
    Debug = 1,
    /// Normal operation.
    Info = 2,
    /// Something to look at.
    Warn = 3,
    /// Something failed.
    Error = 4,
}

/// Calls into the host. Cheap to clone; usable from any thread the plugin starts, from
/// `attach_host` until `shutdown` returns (afterwards calls fail with [`PluginError::Host`]).
#[derive(Clone)]
pub struct Host {
    api: *const bw_type_host_api,
    ctx: ContextPtr,
}

// SAFETY: the header guarantees every bw_host_* function may be called from any thread, and the
// table and context stay valid until destroy, after which the SDK hands out no Host.
unsafe impl Send for Host {}
// SAFETY: as above; Host holds no interior state of its own.
unsafe impl Sync for Host {}

fn c_string(text: &str) -> PluginResult<CString> {
    CString::new(text).map_err(|_| PluginError::BadRequest("string contains a NUL byte".into()))
}

/// The commit batch `{"documents": [...], "state": [[k, v], ...]}` written straight from the
/// borrowed values: building a `json!` value first would copy every document and state value.
fn batch_json(documents: &[Value], state: &[(String, String)]) -> PluginResult<CString> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"{\"documents\":");
    serde_json::to_writer(&mut out, documents).map_err(|e| PluginError::BadRequest(format!("commit batch: {e}")))?;
    out.extend_from_slice(b",\"state\":");
    serde_json::to_writer(&mut out, state).map_err(|e| PluginError::BadRequest(format!("commit batch: {e}")))?;
    out.push(b'}');
    // JSON escapes every control character, so a NUL here can only come from a bug.
    CString::new(out).map_err(|_| PluginError::BadRequest("string contains a NUL byte".into()))
}

/// Appends `text` to `out` as a JSON string (quotes included), escaping what JSON requires:
/// for building a [`Host::commit_json`] batch without a `Value` per document.
pub fn push_json_string(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    let bytes = text.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b >= 0x20 && b != b'"' && b != b'\\' {
            continue;
        }
        out.push_str(&text[start..i]);
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            _ => {
                out.push_str("\\u00");
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 15) as usize] as char);
            }
        }
        start = i + 1;
    }
    out.push_str(&text[start..]);
    out.push('"');
}

impl Host {
    /// Wraps the table and context given to `create`.
    ///
    /// # Safety
    /// `api` must point to a host API table of at least `struct_size` bytes that, with `ctx`,
    /// stays valid for as long as the returned `Host` or any clone of it is used.
    pub unsafe fn from_raw(api: *const bw_type_host_api, ctx: ContextPtr) -> Host {
        Host { api, ctx }
    }

    fn table(&self) -> &bw_type_host_api {
        // SAFETY: from_raw's contract keeps the table alive while self exists.
        unsafe { &*self.api }
    }

    /// Takes a host-allocated string and frees it with the host's free.
    fn take_host_string(&self, ptr: *mut c_char) -> Option<String> {
        if ptr.is_null() {
            return None;
        }
        // SAFETY: the host wrote a NUL-terminated string it owns; we copy it, then give it back.
        let text = unsafe { CStr::from_ptr(ptr) }.to_string_lossy().into_owned();
        if let Some(free) = self.table().free {
            // SAFETY: the pointer came from the host and is freed exactly once.
            unsafe { free(ptr as *mut c_void) };
        }
        Some(text)
    }

    fn status(&self, call: &str, status: abi::bw_type_status, message: Option<String>) -> PluginResult<()> {
        match status {
            abi::BW_OK | abi::BW_NONE => Ok(()),
            abi::BW_ERR_UNSUPPORTED => Err(PluginError::Unsupported(format!(
                "{call} is not available in this isolation mode (use isolation: process)"
            ))),
            abi::BW_ERR_HOST_GONE => Err(PluginError::Host(format!("{call}: the host is shutting down"))),
            _ => Err(PluginError::Host(format!("{call}: {}", message.unwrap_or_else(|| format!("status {status}"))))),
        }
    }

    /// Writes a log line tagged with the plugin's name.
    pub fn log(&self, level: LogLevel, message: &str) {
        let Some(log) = self.table().log else { return };
        let Ok(message) = CString::new(message.replace('\0', " ")) else { return };
        // SAFETY: valid table and context (from_raw), NUL-terminated message borrowed for the call.
        unsafe { log(self.ctx, level as i32, message.as_ptr()) }
    }

    /// `log(LogLevel::Info, message)`.
    pub fn info(&self, message: &str) {
        self.log(LogLevel::Info, message)
    }

    /// `log(LogLevel::Warn, message)`.
    pub fn warn(&self, message: &str) {
        self.log(LogLevel::Warn, message)
    }

    /// `log(LogLevel::Error, message)`.
    pub fn error(&self, message: &str) {
        self.log(LogLevel::Error, message)
    }

    /// Hands readings to the buffer (fire-and-forget): an array of
    /// `{"device","point","value","quality"?,"ts"?}` or a single one.
    pub fn emit(&self, readings: &Value) -> PluginResult<()> {
        let emit = self.table().emit.ok_or_else(|| PluginError::Host("emit missing".into()))?;
        let json = c_string(&readings.to_string())?;
        // SAFETY: valid table and context, borrowed string.
        let status = unsafe { emit(self.ctx, json.as_ptr()) };
        self.status("emit", status, None)
    }

    /// Emits readings and returns once they are committed (ABI 1.2): acknowledge your sender only
    /// after `Ok`. `Err(PluginError::Unavailable)` means the disk refused them and nothing of them
    /// is stored, now or later: answer the sender "retry" (returned from `process_endpoint_data`
    /// it answers 503 without counting against the plugin). Unlike [`emit`](Self::emit), whose
    /// readings wait in memory and are retried. `Unsupported` with `isolation: none` or an older host.
    pub fn emit_acknowledged(&self, readings: &Value) -> PluginResult<()> {
        let size = std::mem::size_of::<Option<abi::bw_host_emit_acknowledged>>();
        let emit = if self.has_member(std::mem::offset_of!(bw_type_host_api, emit_acknowledged), size) {
            self.table().emit_acknowledged
        } else {
            None
        };
        let emit = emit.ok_or_else(|| PluginError::Unsupported("emit_acknowledged needs a host with ABI 1.2".into()))?;
        let json = c_string(&readings.to_string())?;
        let mut error: *mut c_char = std::ptr::null_mut();
        // SAFETY: valid table and context, member present (checked), borrowed string, out pointer to our local.
        let status = unsafe { emit(self.ctx, json.as_ptr(), &mut error) };
        let message = self.take_host_string(error);
        match status {
            -503 => Err(PluginError::Unavailable(message.unwrap_or_else(|| "the buffer refused the readings".into()))),
            -400 => Err(PluginError::BadRequest(message.unwrap_or_else(|| "invalid readings".into()))),
            _ => self.status("emit_acknowledged", status, message),
        }
    }

    /// Stores a document (`{"type","body","meta"?}`) and returns its id once the host has
    /// committed it. Blocks the calling thread; acknowledge your sender only after `Ok`.
    pub fn emit_durable(&self, document: &Value) -> PluginResult<i64> {
        let emit = self.table().emit_durable.ok_or_else(|| PluginError::Host("emit_durable missing".into()))?;
        let json = c_string(&document.to_string())?;
        let mut id: i64 = 0;
        let mut error: *mut c_char = std::ptr::null_mut();
        // SAFETY: valid table and context, borrowed string, out pointers to our locals.
        let status = unsafe { emit(self.ctx, json.as_ptr(), &mut id, &mut error) };
        let message = self.take_host_string(error);
        self.status("emit_durable", status, message).map(|_| id)
    }

    /// Reads persistent plugin state; `None` when the key has no value.
    pub fn state_get(&self, key: &str) -> PluginResult<Option<String>> {
        let get = self.table().state_get.ok_or_else(|| PluginError::Host("state_get missing".into()))?;
        let key = c_string(key)?;
        let mut value: *mut c_char = std::ptr::null_mut();
        // SAFETY: valid table and context, borrowed key, out pointer to our local.
        let status = unsafe { get(self.ctx, key.as_ptr(), &mut value) };
        let value = self.take_host_string(value);
        self.status("state_get", status, None)?;
        Ok(if status == abi::BW_NONE { None } else { value })
    }

    /// Stores `documents` (each `{"type","body","meta"?}`) and `state` writes in one transaction
    /// and returns the documents' ids once committed: one round trip and one commit for a whole
    /// batch, which is what lets a session engine persist every sequence number at wire speed.
    /// All or nothing. With a host older than ABI 1.1 it falls back to `emit_durable` and
    /// `state_set` one by one (then no longer atomic).
    pub fn commit(&self, documents: &[Value], state: &[(String, String)]) -> PluginResult<Vec<i64>> {
        if self.commit_fn().is_none() {
            return self.commit_one_by_one(documents, state);
        }
        self.commit_c(&batch_json(documents, state)?)
    }

    /// [`Host::commit`] with the batch already written as JSON text, `{"documents": [...],
    /// "state": [[key, value], ...]}` (either part may be left out): a plugin committing at wire
    /// speed writes it straight from its own data (see [`push_json_string`]) instead of building
    /// a `Value` per document. The host checks it as it would `commit`'s.
    pub fn commit_json(&self, batch: &str) -> PluginResult<Vec<i64>> {
        if self.commit_fn().is_none() {
            let parsed: Value = serde_json::from_str(batch).map_err(|e| PluginError::BadRequest(format!("commit batch is not JSON: {e}")))?;
            let documents = parsed.get("documents").and_then(Value::as_array).cloned().unwrap_or_default();
            let state: Vec<(String, String)> = serde_json::from_value(parsed.get("state").cloned().unwrap_or(Value::Array(Vec::new())))
                .map_err(|e| PluginError::BadRequest(format!("commit batch state: {e}")))?;
            return self.commit_one_by_one(&documents, &state);
        }
        self.commit_c(&c_string(batch)?)
    }

    /// A host older than ABI 1.1: `emit_durable` and `state_set` one by one (not atomic).
    fn commit_one_by_one(&self, documents: &[Value], state: &[(String, String)]) -> PluginResult<Vec<i64>> {
        let ids = documents.iter().map(|d| self.emit_durable(d)).collect::<PluginResult<Vec<i64>>>()?;
        for (key, value) in state {
            self.state_set(key, value)?;
        }
        Ok(ids)
    }

    fn commit_c(&self, json: &CString) -> PluginResult<Vec<i64>> {
        let commit = self.commit_fn().ok_or_else(|| PluginError::Host("commit missing".into()))?;
        let mut out: *mut c_char = std::ptr::null_mut();
        // SAFETY: valid table and context, borrowed string, out pointer to our local.
        let status = unsafe { commit(self.ctx, json.as_ptr(), &mut out) };
        let answer = self.take_host_string(out);
        if status != abi::BW_OK {
            return self.status("commit", status, answer).map(|_| Vec::new());
        }
        let ids: Vec<i64> = serde_json::from_str(answer.as_deref().unwrap_or("[]"))
            .map_err(|e| PluginError::Host(format!("commit answered ids that are not a JSON array: {e}")))?;
        Ok(ids)
    }

    /// The 1.1 `commit` member, when the host's table is new enough to have it.
    fn commit_fn(&self) -> Option<abi::bw_host_commit> {
        let end = std::mem::offset_of!(bw_type_host_api, commit) + std::mem::size_of::<Option<abi::bw_host_commit>>();
        // SAFETY: struct_size is the table's first member, present in every version.
        let size = unsafe { std::ptr::addr_of!((*self.api).struct_size).read() } as usize;
        if size < end {
            return None;
        }
        // SAFETY: the table is at least `end` bytes long (checked above), so the member exists.
        unsafe { std::ptr::addr_of!((*self.api).commit).read() }
    }

    /// Whether the host's table reaches to the end of the member at `offset` of `size` bytes
    /// (a host built for an older minor has a shorter table).
    fn has_member(&self, offset: usize, size: usize) -> bool {
        // SAFETY: struct_size is the table's first member, present in every version.
        let table_size = unsafe { std::ptr::addr_of!((*self.api).struct_size).read() } as usize;
        table_size >= offset + size
    }

    /// Reads back documents this plugin stored, in id order (ABI 1.1): `query` is
    /// `{"type"?, "status"?, "after_id"?, "since_ms"?, "limit"?, "with_body"?}`; each result is
    /// `{"id","type","status","meta","received_at","body"?}`. An outbox a plugin drains itself
    /// reads its pending documents this way and marks them with [`Host::document_set_status`].
    pub fn documents_query(&self, query: &Value) -> PluginResult<Vec<Value>> {
        let size = std::mem::size_of::<Option<abi::bw_host_documents_query>>();
        let query_fn = if self.has_member(std::mem::offset_of!(bw_type_host_api, documents_query), size) {
            self.table().documents_query
        } else {
            None
        };
        let query_fn = query_fn.ok_or_else(|| PluginError::Unsupported("documents_query needs a host with ABI 1.1".into()))?;
        let json = c_string(&query.to_string())?;
        let mut out: *mut c_char = std::ptr::null_mut();
        // SAFETY: valid table and context, member present (checked), borrowed string, out pointer to our local.
        let status = unsafe { query_fn(self.ctx, json.as_ptr(), &mut out) };
        let answer = self.take_host_string(out);
        if status != abi::BW_OK {
            return self.status("documents_query", status, answer).map(|_| Vec::new());
        }
        serde_json::from_str(answer.as_deref().unwrap_or("[]"))
            .map_err(|e| PluginError::Host(format!("documents_query answered something that is not a JSON array: {e}")))
    }

    /// Sets the status of a document this plugin stored (ABI 1.1), e.g. `"fhir_sent"`;
    /// `Ok(false)` when the plugin has no document with that id.
    pub fn document_set_status(&self, id: i64, status: &str) -> PluginResult<bool> {
        let size = std::mem::size_of::<Option<abi::bw_host_document_set_status>>();
        let set_fn = if self.has_member(std::mem::offset_of!(bw_type_host_api, document_set_status), size) {
            self.table().document_set_status
        } else {
            None
        };
        let set_fn = set_fn.ok_or_else(|| PluginError::Unsupported("document_set_status needs a host with ABI 1.1".into()))?;
        let text = c_string(status)?;
        // SAFETY: valid table and context, member present (checked), borrowed string.
        let result = unsafe { set_fn(self.ctx, id, text.as_ptr()) };
        self.status("document_set_status", result, None)?;
        Ok(result == abi::BW_OK)
    }

    /// Writes persistent plugin state; returns once stored.
    pub fn state_set(&self, key: &str, value: &str) -> PluginResult<()> {
        let set = self.table().state_set.ok_or_else(|| PluginError::Host("state_set missing".into()))?;
        let key = c_string(key)?;
        let value = c_string(value)?;
        // SAFETY: valid table and context, borrowed strings.
        let status = unsafe { set(self.ctx, key.as_ptr(), value.as_ptr()) };
        self.status("state_set", status, None)
    }
}

#[cfg(test)]
mod tests {
    use super::push_json_string;

    #[test]
    fn json_strings_read_back_as_written() {
        for text in ["", "plain", "8=FIX.4.4\u{1}9=5\u{1}", "quote \" backslash \\ newline \n tab \t nul \0 é €"] {
            let mut out = String::from("x");
            push_json_string(&mut out, text);
            assert_eq!(serde_json::from_str::<String>(&out[1..]).unwrap(), text);
        }
    }
}
