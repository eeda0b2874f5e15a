//! The raw C ABI of `sdk/c/backworks_plugin.h`, version 1.2, mirrored member for member.
//!
//! Plugin authors never need this module: [`export_plugin!`](crate::export_plugin) generates
//! everything. It is public so that tools (and the SDK's own tests) can read a descriptor.
//! Ownership and thread rules are the header's; each item names its C counterpart.
#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_void};

/// `BW_ABI_MAJOR`: the host refuses a plugin whose major differs.
pub const BW_ABI_MAJOR: u16 = 1;
/// `BW_ABI_MINOR`: the host accepts plugins with an older minor.
pub const BW_ABI_MINOR: u16 = 2;

/// `bw_type_status`: `BW_OK`, `BW_NONE`, or a negative error.
pub type bw_type_status = i32;
/// `BW_OK`.
pub const BW_OK: bw_type_status = 0;
/// `BW_NONE`: "not mine".
pub const BW_NONE: bw_type_status = 1;
/// `BW_ERR`: an error answered with HTTP 500.
pub const BW_ERR: bw_type_status = -1;
/// `BW_ERR_UNSUPPORTED`: the host cannot serve this call in its isolation mode.
pub const BW_ERR_UNSUPPORTED: bw_type_status = -2;
/// `BW_ERR_HOST_GONE`: the host is shutting down.
pub const BW_ERR_HOST_GONE: bw_type_status = -3;

/// `BW_CAP_ENDPOINT`.
pub const BW_CAP_ENDPOINT: u64 = 1 << 0;
/// `BW_CAP_BEFORE_REQUEST`.
pub const BW_CAP_BEFORE_REQUEST: u64 = 1 << 1;
/// `BW_CAP_AFTER_RESPONSE`.
pub const BW_CAP_AFTER_RESPONSE: u64 = 1 << 2;
/// `BW_CAP_CONNECTOR`.
pub const BW_CAP_CONNECTOR: u64 = 1 << 3;
/// `BW_CAP_WRITE`.
pub const BW_CAP_WRITE: u64 = 1 << 4;
/// `BW_CAP_CONFIG_RELOAD`.
pub const BW_CAP_CONFIG_RELOAD: u64 = 1 << 5;

/// `bw_type_instance_plugin_ptr`.
pub type InstancePtr = *mut c_void;
/// `bw_type_context_host_ptr`.
pub type ContextPtr = *mut c_void;

/// `bw_host_log`.
pub type bw_host_log = unsafe extern "C" fn(ctx: ContextPtr, level: i32, message: *const c_char);
/// `bw_host_emit`.
pub type bw_host_emit = unsafe extern "C" fn(ctx: ContextPtr, readings_json: *const c_char) -> bw_type_status;
/// `bw_host_emit_durable`.
pub type bw_host_emit_durable = unsafe extern "C" fn(
    ctx: ContextPtr,
    document_json: *const c_char,
    out_id: *mut i64,
    out_error_host_ptr: *mut *mut c_char,
) -> bw_type_status;
/// `bw_host_state_get`.
pub type bw_host_state_get =
    unsafe extern "C" fn(ctx: ContextPtr, key: *const c_char, out_value_host_ptr: *mut *mut c_char) -> bw_type_status;
/// `bw_host_state_set`.
pub type bw_host_state_set =
    unsafe extern "C" fn(ctx: ContextPtr, key: *const c_char, value: *const c_char) -> bw_type_status;
/// `bw_host_commit` (1.1).
pub type bw_host_commit =
    unsafe extern "C" fn(ctx: ContextPtr, batch_json: *const c_char, out_ids_host_ptr: *mut *mut c_char) -> bw_type_status;
/// `bw_host_documents_query` (1.1).
pub type bw_host_documents_query =
    unsafe extern "C" fn(ctx: ContextPtr, query_json: *const c_char, out_json_host_ptr: *mut *mut c_char) -> bw_type_status;
/// `bw_host_document_set_status` (1.1).
pub type bw_host_document_set_status =
    unsafe extern "C" fn(ctx: ContextPtr, id: i64, status: *const c_char) -> bw_type_status;
/// `bw_host_emit_acknowledged` (1.2).
pub type bw_host_emit_acknowledged =
    unsafe extern "C" fn(ctx: ContextPtr, readings_json: *const c_char, out_error_host_ptr: *mut *mut c_char) -> bw_type_status;
/// `bw_host_free`.
pub type bw_host_free = unsafe extern "C" fn(ptr_host_ptr: *mut c_void);

/// `bw_type_host_api`: owned by the host, valid until destroy returns.
#[repr(C)]
pub struct bw_type_host_api {
    /// `sizeof(bw_type_host_api)` as the host was built.
    pub struct_size: u32,
    /// 1.0
    pub log: Option<bw_host_log>,
    /// 1.0
    pub emit: Option<bw_host_emit>,
    /// 1.0
    pub emit_durable: Option<bw_host_emit_durable>,
    /// 1.0
    pub state_get: Option<bw_host_state_get>,
    /// 1.0
    pub state_set: Option<bw_host_state_set>,
    /// 1.0
    pub free: Option<bw_host_free>,
    /// 1.1; beyond `struct_size` in an older host's table.
    pub commit: Option<bw_host_commit>,
    /// 1.1; beyond `struct_size` in an older host's table.
    pub documents_query: Option<bw_host_documents_query>,
    /// 1.1; beyond `struct_size` in an older host's table.
    pub document_set_status: Option<bw_host_document_set_status>,
    /// 1.2
    pub emit_acknowledged: Option<bw_host_emit_acknowledged>,
}

/// `bw_on_create`.
pub type bw_on_create =
    unsafe extern "C" fn(host_api: *const bw_type_host_api, host_api_size: u32, ctx: ContextPtr) -> InstancePtr;
/// `bw_on_initialize`, `bw_on_config_reload`.
pub type bw_on_initialize =
    unsafe extern "C" fn(instance: InstancePtr, config_json: *const c_char, out_error: *mut *mut c_char) -> bw_type_status;
/// `bw_on_process_endpoint_data`.
pub type bw_on_process_endpoint_data = unsafe extern "C" fn(
    instance: InstancePtr,
    endpoint: *const c_char,
    method: *const c_char,
    data: *const c_char,
    out: *mut *mut c_char,
) -> bw_type_status;

/// `bw_type_endpoint_reply` (1.2): what `process_endpoint_data_v2` answers, owned by the host.
#[repr(C)]
pub struct bw_type_endpoint_reply {
    /// `sizeof(bw_type_endpoint_reply)` as the host was built.
    pub struct_size: u32,
    /// 1.2; 0 answers 200.
    pub http_status: i32,
    /// 1.2; freed by the host with the plugin's `free`.
    pub content_type_plugin_ptr: *mut c_char,
    /// 1.2; `body_len` bytes, freed by the host with the plugin's `free`.
    pub body_plugin_ptr: *mut c_char,
    /// 1.2
    pub body_len: usize,
    /// 1.2; the host's space for a small body (no allocation, no free), or NULL.
    pub body_host_ptr: *mut u8,
    /// 1.2; bytes writable at `body_host_ptr`.
    pub body_host_capacity: usize,
}

/// `bw_on_process_endpoint_data_v2` (1.2): the body as bytes, the answer in `reply`.
pub type bw_on_process_endpoint_data_v2 = unsafe extern "C" fn(
    instance: InstancePtr,
    endpoint: *const c_char,
    method: *const c_char,
    data: *const u8,
    data_len: usize,
    reply: *mut bw_type_endpoint_reply,
) -> bw_type_status;
/// `bw_on_before_request`.
pub type bw_on_before_request =
    unsafe extern "C" fn(instance: InstancePtr, request_json: *const c_char, out: *mut *mut c_char) -> bw_type_status;
/// `bw_on_after_response`.
pub type bw_on_after_response = unsafe extern "C" fn(
    instance: InstancePtr,
    request_json: *const c_char,
    response_json: *const c_char,
    out: *mut *mut c_char,
) -> bw_type_status;
/// `bw_on_health`.
pub type bw_on_health = unsafe extern "C" fn(instance: InstancePtr, out: *mut *mut c_char) -> bw_type_status;
/// `bw_on_write`.
pub type bw_on_write = unsafe extern "C" fn(
    instance: InstancePtr,
    device: *const c_char,
    point: *const c_char,
    value_json: *const c_char,
    out_error: *mut *mut c_char,
) -> bw_type_status;
/// `bw_on_shutdown`, `bw_on_destroy`.
pub type bw_on_instance = unsafe extern "C" fn(instance: InstancePtr);
/// `bw_on_free`.
pub type bw_on_free = unsafe extern "C" fn(ptr_plugin_ptr: *mut c_void);

/// `bw_type_calls`: static in the plugin.
#[repr(C)]
pub struct bw_type_calls {
    /// `sizeof(bw_type_calls)` as the plugin was built.
    pub struct_size: u32,
    /// 1.0
    pub create: Option<bw_on_create>,
    /// 1.0
    pub initialize: Option<bw_on_initialize>,
    /// 1.0
    pub process_endpoint_data: Option<bw_on_process_endpoint_data>,
    /// 1.0
    pub before_request: Option<bw_on_before_request>,
    /// 1.0
    pub after_response: Option<bw_on_after_response>,
    /// 1.0
    pub health: Option<bw_on_health>,
    /// 1.0
    pub on_config_reload: Option<bw_on_initialize>,
    /// 1.0
    pub write: Option<bw_on_write>,
    /// 1.0
    pub shutdown: Option<bw_on_instance>,
    /// 1.0
    pub destroy: Option<bw_on_instance>,
    /// 1.0
    pub free: Option<bw_on_free>,
    /// 1.2
    pub process_endpoint_data_v2: Option<bw_on_process_endpoint_data_v2>,
}

/// `bw_type_descriptor`: static in the plugin and immutable.
#[repr(C)]
pub struct bw_type_descriptor {
    /// `sizeof(bw_type_descriptor)` as the plugin was built.
    pub struct_size: u32,
    /// `BW_ABI_MAJOR` the plugin was built against.
    pub abi_major: u16,
    /// `BW_ABI_MINOR` the plugin was built against.
    pub abi_minor: u16,
    /// 1.0
    pub name: *const c_char,
    /// 1.0
    pub version: *const c_char,
    /// 1.0
    pub description: *const c_char,
    /// 1.0
    pub capabilities: u64,
    /// 1.0
    pub config_schema_json: *const c_char,
    /// 1.0
    pub calls: *const bw_type_calls,
}
