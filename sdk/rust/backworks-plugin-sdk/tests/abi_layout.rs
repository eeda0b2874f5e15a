//! Prints the crate's view of the C ABI (sizes, member offsets, constants) as one JSON line after
//! `ABI_LAYOUT `; test/sdk/abi-agreement.test.ts compares it with sdk/c/backworks_plugin.h as a C
//! compiler lays it out. Every member of `abi.rs` is listed: one missing from here is missing there.
use backworks_plugin_sdk::abi::*;
use backworks_plugin_sdk::LogLevel;
use std::mem::{offset_of, size_of};

macro_rules! layout {
    ($($ty:ident { $($member:ident),* $(,)? })*) => {{
        let mut structs = Vec::new();
        $(
            let members: Vec<String> = vec![$(format!("[\"{}\",{}]", stringify!($member), offset_of!($ty, $member))),*];
            structs.push(format!("\"{}\":{{\"size\":{},\"members\":[{}]}}", stringify!($ty), size_of::<$ty>(), members.join(",")));
        )*
        structs.join(",")
    }};
}

macro_rules! constants {
    ($($name:ident = $value:expr),* $(,)?) => {
        vec![$(format!("\"{}\":{}", stringify!($name), $value as i128)),*].join(",")
    };
}

#[test]
fn prints_the_abi_layout() {
    let structs = layout! {
        bw_type_host_api { struct_size, log, emit, emit_durable, state_get, state_set, free, commit, documents_query, document_set_status, emit_acknowledged }
        bw_type_endpoint_reply { struct_size, http_status, content_type_plugin_ptr, body_plugin_ptr, body_len, body_host_ptr, body_host_capacity }
        bw_type_calls { struct_size, create, initialize, process_endpoint_data, before_request, after_response, health, on_config_reload, write, shutdown, destroy, free, process_endpoint_data_v2 }
        bw_type_descriptor { struct_size, abi_major, abi_minor, name, version, description, capabilities, config_schema_json, calls }
    };
    let constants = constants! {
        BW_ABI_MAJOR = BW_ABI_MAJOR, BW_ABI_MINOR = BW_ABI_MINOR,
        BW_OK = BW_OK, BW_NONE = BW_NONE, BW_ERR = BW_ERR, BW_ERR_UNSUPPORTED = BW_ERR_UNSUPPORTED, BW_ERR_HOST_GONE = BW_ERR_HOST_GONE,
        BW_LOG_TRACE = LogLevel::Trace as i32, BW_LOG_DEBUG = LogLevel::Debug as i32, BW_LOG_INFO = LogLevel::Info as i32,
        BW_LOG_WARN = LogLevel::Warn as i32, BW_LOG_ERROR = LogLevel::Error as i32,
        BW_CAP_ENDPOINT = BW_CAP_ENDPOINT, BW_CAP_BEFORE_REQUEST = BW_CAP_BEFORE_REQUEST, BW_CAP_AFTER_RESPONSE = BW_CAP_AFTER_RESPONSE,
        BW_CAP_CONNECTOR = BW_CAP_CONNECTOR, BW_CAP_WRITE = BW_CAP_WRITE, BW_CAP_CONFIG_RELOAD = BW_CAP_CONFIG_RELOAD,
    };
    println!("ABI_LAYOUT {{\"structs\":{{{structs}}},\"constants\":{{{constants}}}}}");
}
