//! The glue `export_plugin!` instantiates: one `extern "C"` function per ABI call, generic over
//! the plugin type. Every one catches panics, so a panic becomes an error result and never
//! unwinds into the host.

use std::any::Any;
use std::ffi::{c_char, c_void, CStr, CString};
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

use serde_json::Value;

use crate::abi::*;
use crate::error::{PluginError, PluginResult};
use crate::executor::block_on;
use crate::host::Host;
use crate::plugin::{BackworksPlugin, Capabilities};

fn panic_message(payload: Box<dyn Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_owned()
    }
}

/// Bytes in front of every block handed to the host: the block's whole size, so `free_string`
/// needs no `strlen` and a body may hold NULs.
const BLOCK_HEADER: usize = std::mem::size_of::<usize>();

/// Copies `bytes` into a block the host frees with [`free_string`]: the bytes, then a NUL (so the
/// host may read a text answer as a C string).
fn hand_out(bytes: &[u8]) -> *mut c_char {
    let total = BLOCK_HEADER + bytes.len() + 1;
    let mut block = vec![0u8; total].into_boxed_slice();
    block[..BLOCK_HEADER].copy_from_slice(&total.to_ne_bytes());
    block[BLOCK_HEADER..BLOCK_HEADER + bytes.len()].copy_from_slice(bytes);
    let base = Box::into_raw(block) as *mut u8;
    // SAFETY: the block is BLOCK_HEADER + len + 1 bytes long.
    unsafe { base.add(BLOCK_HEADER) as *mut c_char }
}

fn into_c_string(text: String) -> *mut c_char {
    // A C string ends at its first NUL: the 1.0 calls' answers get a space instead (rare, so the
    // answer is copied only to replace one).
    let text = if text.contains('\0') { text.replace('\0', " ") } else { text };
    hand_out(text.as_bytes())
}

/// The status an error goes back as: its HTTP status negated, or `BW_ERR` for 500 (a failure).
fn error_status(error: &PluginError) -> bw_type_status {
    let code = error.status_code();
    if (400..=599).contains(&code) && code != 500 { -(code as i32) } else { BW_ERR }
}

/// Runs `body` under catch_unwind and turns its outcome into a status and an `out` string.
fn guarded(out: *mut *mut c_char, body: impl FnOnce() -> PluginResult<Option<String>>) -> bw_type_status {
    let outcome = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|p| Err(PluginError::Panic(panic_message(p))));
    let (status, text) = match outcome {
        Ok(Some(text)) => (BW_OK, Some(text)),
        Ok(None) => (BW_NONE, None),
        Err(error) => (error_status(&error), Some(error.to_string())),
    };
    if let Some(text) = text {
        if !out.is_null() {
            // SAFETY: the host passes a valid out pointer (or NULL, checked above).
            unsafe { *out = into_c_string(text) };
        }
    }
    status
}

/// Maps a unit result onto BW_OK (never BW_NONE).
fn unit(result: PluginResult<()>) -> PluginResult<Option<String>> {
    result.map(|()| Some(String::new()))
}

/// The `out` string of a unit call is not wanted: free it and keep only errors' messages.
fn unit_status(out: *mut *mut c_char, body: impl FnOnce() -> PluginResult<Option<String>>) -> bw_type_status {
    let status = guarded(out, body);
    if status == BW_OK && !out.is_null() {
        // SAFETY: guarded wrote a block of hand_out (or left NULL).
        unsafe {
            if !(*out).is_null() {
                free_string(*out as *mut c_void);
                *out = std::ptr::null_mut();
            }
        }
    }
    status
}

/// Borrowed C string as &str; invalid UTF-8 becomes a BadRequest.
///
/// # Safety
/// `ptr` must be NULL or a NUL-terminated string valid for `'a`.
unsafe fn text<'a>(ptr: *const c_char, what: &str) -> PluginResult<&'a str> {
    if ptr.is_null() {
        return Ok("");
    }
    // SAFETY: guaranteed by the caller.
    unsafe { CStr::from_ptr(ptr) }.to_str().map_err(|_| PluginError::BadRequest(format!("{what} is not UTF-8")))
}

/// # Safety
/// As [`text`].
unsafe fn json(ptr: *const c_char, what: &str) -> PluginResult<Value> {
    // SAFETY: forwarded contract.
    let raw = unsafe { text(ptr, what) }?;
    if raw.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(raw).map_err(|e| PluginError::BadRequest(format!("{what} is not JSON: {e}")))
}

/// One live plugin instance as the host sees it.
struct Instance<T> {
    plugin: T,
}

/// # Safety
/// `instance` must come from `create::<T>` and not be destroyed yet.
unsafe fn plugin<'a, T>(instance: InstancePtr) -> &'a T {
    // SAFETY: guaranteed by the caller.
    unsafe { &(*(instance as *const Instance<T>)).plugin }
}

unsafe extern "C" fn create<T: BackworksPlugin + Default>(
    host_api: *const bw_type_host_api,
    _host_api_size: u32,
    ctx: ContextPtr,
) -> InstancePtr {
    catch_unwind(|| {
        let instance = Box::new(Instance { plugin: T::default() });
        if !host_api.is_null() {
            // SAFETY: the header keeps host_api and ctx valid until destroy.
            instance.plugin.attach_host(unsafe { Host::from_raw(host_api, ctx) });
        }
        Box::into_raw(instance) as InstancePtr
    })
    .unwrap_or(std::ptr::null_mut())
}

unsafe extern "C" fn initialize<T: BackworksPlugin>(
    instance: InstancePtr,
    config: *const c_char,
    out_error: *mut *mut c_char,
) -> bw_type_status {
    unit_status(out_error, || {
        // SAFETY: the host passes our instance and a valid string.
        let (plugin, config) = unsafe { (plugin::<T>(instance), json(config, "config")?) };
        let config = if config.is_null() { Value::Object(Default::default()) } else { config };
        unit(block_on(plugin.initialize(&config)))
    })
}

unsafe extern "C" fn reload<T: BackworksPlugin>(
    instance: InstancePtr,
    config: *const c_char,
    out_error: *mut *mut c_char,
) -> bw_type_status {
    unit_status(out_error, || {
        // SAFETY: the host passes our instance and a valid string.
        let (plugin, config) = unsafe { (plugin::<T>(instance), json(config, "config")?) };
        unit(block_on(plugin.on_config_reload(&config)))
    })
}

unsafe extern "C" fn process<T: BackworksPlugin>(
    instance: InstancePtr,
    endpoint: *const c_char,
    method: *const c_char,
    data: *const c_char,
    out: *mut *mut c_char,
) -> bw_type_status {
    guarded(out, || {
        // SAFETY: the host passes our instance and valid strings.
        let (plugin, endpoint, method, data) = unsafe {
            (plugin::<T>(instance), text(endpoint, "endpoint")?, text(method, "method")?, text(data, "data")?)
        };
        block_on(plugin.process_endpoint_data(endpoint, method, data))
    })
}

/// Puts an answer's bytes in the host's space when they fit (no allocation, no free), else hands
/// out a block.
fn put_body(reply: &mut bw_type_endpoint_reply, body: &[u8]) {
    reply.body_len = body.len();
    if !reply.body_host_ptr.is_null() && body.len() <= reply.body_host_capacity {
        // SAFETY: the host keeps body_host_capacity bytes writable at body_host_ptr for the call.
        unsafe { std::ptr::copy_nonoverlapping(body.as_ptr(), reply.body_host_ptr, body.len()) };
    } else {
        reply.body_plugin_ptr = hand_out(body);
    }
}

unsafe extern "C" fn process_v2<T: BackworksPlugin>(
    instance: InstancePtr,
    endpoint: *const c_char,
    method: *const c_char,
    data: *const u8,
    data_len: usize,
    reply: *mut bw_type_endpoint_reply,
) -> bw_type_status {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the host passes our instance, valid strings and `data_len` readable bytes.
        let (plugin, endpoint, method) = unsafe { (plugin::<T>(instance), text(endpoint, "endpoint")?, text(method, "method")?) };
        let data = if data.is_null() || data_len == 0 {
            &[][..]
        } else {
            // SAFETY: the header guarantees `data_len` readable bytes at `data` for the call.
            unsafe { std::slice::from_raw_parts(data, data_len) }
        };
        block_on(plugin.process_endpoint_bytes(endpoint, method, data))
    }))
    .unwrap_or_else(|p| Err(PluginError::Panic(panic_message(p))));
    if reply.is_null() {
        return BW_ERR;
    }
    // SAFETY: the host passes a zeroed reply it owns for the call.
    let reply = unsafe { &mut *reply };
    match outcome {
        Ok(Some(answer)) => {
            reply.http_status = i32::from(answer.status);
            if let Some(content_type) = answer.content_type {
                reply.content_type_plugin_ptr = into_c_string(content_type);
            }
            put_body(reply, &answer.body);
            BW_OK
        }
        Ok(None) => BW_NONE,
        Err(error) => {
            put_body(reply, error.to_string().as_bytes());
            error_status(&error)
        }
    }
}

unsafe extern "C" fn before_request<T: BackworksPlugin>(
    instance: InstancePtr,
    request: *const c_char,
    out: *mut *mut c_char,
) -> bw_type_status {
    let status = guarded(out, || {
        // SAFETY: the host passes our instance and a valid string.
        let (plugin, request) = unsafe { (plugin::<T>(instance), json(request, "request")?) };
        Ok(block_on(plugin.before_request(&request))?.map(|v| v.to_string()))
    });
    if status == BW_NONE { BW_OK } else { status }
}

unsafe extern "C" fn after_response<T: BackworksPlugin>(
    instance: InstancePtr,
    request: *const c_char,
    response: *const c_char,
    out: *mut *mut c_char,
) -> bw_type_status {
    let status = guarded(out, || {
        // SAFETY: the host passes our instance and valid strings.
        let (plugin, request, response) =
            unsafe { (plugin::<T>(instance), json(request, "request")?, json(response, "response")?) };
        Ok(block_on(plugin.after_response(&request, &response))?.map(|v| v.to_string()))
    });
    if status == BW_NONE { BW_OK } else { status }
}

unsafe extern "C" fn health<T: BackworksPlugin>(instance: InstancePtr, out: *mut *mut c_char) -> bw_type_status {
    guarded(out, || {
        // SAFETY: the host passes our instance.
        let plugin = unsafe { plugin::<T>(instance) };
        Ok(Some(block_on(plugin.health_check())?.to_json().to_string()))
    })
}

unsafe extern "C" fn write<T: BackworksPlugin>(
    instance: InstancePtr,
    device: *const c_char,
    point: *const c_char,
    value: *const c_char,
    out_error: *mut *mut c_char,
) -> bw_type_status {
    unit_status(out_error, || {
        // SAFETY: the host passes our instance and valid strings.
        let (plugin, device, point, value) = unsafe {
            (plugin::<T>(instance), text(device, "device")?, text(point, "point")?, json(value, "value")?)
        };
        unit(block_on(plugin.write(device, point, &value)))
    })
}

unsafe extern "C" fn shutdown<T: BackworksPlugin>(instance: InstancePtr) {
    let _ = catch_unwind(|| {
        // SAFETY: the host passes our instance.
        let plugin = unsafe { plugin::<T>(instance) };
        let _ = block_on(plugin.shutdown());
    });
}

unsafe extern "C" fn destroy<T: BackworksPlugin>(instance: InstancePtr) {
    let _ = catch_unwind(|| {
        // SAFETY: the host passes our instance exactly once, after every other call returned.
        drop(unsafe { Box::from_raw(instance as *mut Instance<T>) });
    });
}

unsafe extern "C" fn free_string(ptr: *mut c_void) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: every pointer we hand out comes from hand_out: BLOCK_HEADER bytes before it hold
    // the size of the boxed block that starts there.
    unsafe {
        let base = (ptr as *mut u8).sub(BLOCK_HEADER);
        let mut size = [0u8; BLOCK_HEADER];
        std::ptr::copy_nonoverlapping(base, size.as_mut_ptr(), BLOCK_HEADER);
        let total = usize::from_ne_bytes(size);
        drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(base, total)));
    }
}

/// The descriptor and everything its pointers point to, built once per library.
struct Built {
    _strings: Vec<CString>,
    _calls: Box<bw_type_calls>,
    descriptor: bw_type_descriptor,
}

// SAFETY: after construction Built is never mutated; its raw pointers point into itself (boxed,
// so they do not move) and are only read.
unsafe impl Send for Built {}
// SAFETY: as above.
unsafe impl Sync for Built {}

/// Holds the static descriptor of one plugin type; used by [`export_plugin!`](crate::export_plugin).
#[doc(hidden)]
pub struct DescriptorCell<T> {
    cell: OnceLock<Box<Built>>,
    _plugin: PhantomData<fn() -> T>,
}

impl<T: BackworksPlugin + Default> DescriptorCell<T> {
    /// An empty cell, for a `static`.
    pub const fn new() -> Self {
        DescriptorCell { cell: OnceLock::new(), _plugin: PhantomData }
    }

    /// The descriptor, built from a probe `T::default()` on first use. NULL if building panicked.
    pub fn get(&self) -> *const bw_type_descriptor {
        match catch_unwind(AssertUnwindSafe(|| &self.cell.get_or_init(build::<T>).descriptor as *const _)) {
            Ok(descriptor) => descriptor,
            Err(_) => std::ptr::null(),
        }
    }
}

fn build<T: BackworksPlugin + Default>() -> Box<Built> {
    let probe = T::default();
    let caps: Capabilities = probe.capabilities();
    let strings: Vec<CString> = [
        probe.name().to_owned(),
        probe.version().to_owned(),
        probe.description().to_owned(),
        probe.config_schema().map(|s| s.to_string()).unwrap_or_default(),
    ]
    .into_iter()
    .map(|s| CString::new(s.replace('\0', " ")).expect("NULs were replaced"))
    .collect();
    let calls = Box::new(bw_type_calls {
        struct_size: std::mem::size_of::<bw_type_calls>() as u32,
        create: Some(create::<T>),
        initialize: Some(initialize::<T>),
        process_endpoint_data: Some(process::<T>),
        before_request: caps.contains(Capabilities::BEFORE_REQUEST).then_some(before_request::<T> as bw_on_before_request),
        after_response: caps.contains(Capabilities::AFTER_RESPONSE).then_some(after_response::<T> as bw_on_after_response),
        health: Some(health::<T>),
        on_config_reload: caps.contains(Capabilities::CONFIG_RELOAD).then_some(reload::<T> as bw_on_initialize),
        write: caps.contains(Capabilities::WRITE).then_some(write::<T> as bw_on_write),
        shutdown: Some(shutdown::<T>),
        destroy: Some(destroy::<T>),
        free: Some(free_string),
        process_endpoint_data_v2: Some(process_v2::<T>),
    });
    let descriptor = bw_type_descriptor {
        struct_size: std::mem::size_of::<bw_type_descriptor>() as u32,
        abi_major: BW_ABI_MAJOR,
        abi_minor: BW_ABI_MINOR,
        name: strings[0].as_ptr(),
        version: strings[1].as_ptr(),
        description: strings[2].as_ptr(),
        capabilities: caps.0,
        config_schema_json: if strings[3].as_bytes().is_empty() { std::ptr::null() } else { strings[3].as_ptr() },
        calls: &*calls,
    };
    Box::new(Built { _strings: strings, _calls: calls, descriptor })
}

/// Exports a plugin type as a Backworks native plugin: generates the one exported symbol,
/// `bw_plugin_descriptor`, and the whole C ABI of `sdk/c/backworks_plugin.h` behind it.
///
/// The argument is a type implementing [`BackworksPlugin`](crate::BackworksPlugin) and
/// `Default`; the host creates each instance with `Default::default()`. Use it once per crate,
/// whose `[lib] crate-type` must include `"cdylib"`.
///
/// ```
/// use backworks_plugin_sdk::*;
///
/// #[derive(Default)]
/// pub struct MyPlugin;
///
/// #[async_trait]
/// impl BackworksPlugin for MyPlugin {
///     fn name(&self) -> &str { "my-plugin" }
///     async fn initialize(&self, _config: &Value) -> PluginResult<()> { Ok(()) }
/// }
///
/// export_plugin!(MyPlugin);
///
/// let descriptor = unsafe { &*bw_plugin_descriptor() };
/// assert_eq!(descriptor.abi_major, abi::BW_ABI_MAJOR);
/// ```
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        /// The Backworks plugin descriptor (generated by `export_plugin!`).
        #[no_mangle]
        pub extern "C" fn bw_plugin_descriptor() -> *const $crate::abi::bw_type_descriptor {
            static DESCRIPTOR: $crate::__private::DescriptorCell<$plugin> = $crate::__private::DescriptorCell::new();
            DESCRIPTOR.get()
        }
    };
}
