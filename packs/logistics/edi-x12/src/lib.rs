//! Backworks logistics pack: ASC X12 EDI as a native plugin (`libedi_plugin.so`).
//!
//! Inbound interchanges (810, 850, 855, 856, 860, 865, 997, 999, 204, 210, 214, 990 in 004010
//! and 005010) arrive through
//! `POST /edi/x12` or the drop folder, are checked (envelopes, counts, control numbers, partner,
//! segment structure, elements), stored in the buffer, and answered with a TA1 and a 997 or 999
//! per group. `POST /edi/x12/parse` answers JSON only (`/edi/x12/validate`: the same without the
//! transaction data); `POST /edi/x12/outbound/{855,856,810}`
//! writes X12 from JSON with control numbers that are never reused.

pub mod ack;
pub mod config;
pub mod control;
pub mod dictionary;
pub mod dropfolder;
pub mod envelope;
pub mod inbound;
pub mod json;
pub mod outbound;
pub mod sets;
pub mod standard;
pub mod structure;
pub mod tokens;
pub mod writer;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use backworks_plugin_sdk::*;

use crate::config::Config;
use crate::control::Controls;
use crate::dropfolder::Poller;

/// What the endpoints and the drop folder thread share.
pub struct Core {
    pub host: Host,
    pub config: Config,
    pub controls: Controls,
    received: AtomicU64,
    rejected: AtomicU64,
}

#[derive(Default)]
pub struct EdiPlugin {
    host: OnceLock<Host>,
    core: RwLock<Option<Arc<Core>>>,
    poller: Mutex<Option<Poller>>,
}

const INBOUND: &str = "/edi/x12";
const PARSE: &str = "/edi/x12/parse";
const VALIDATE: &str = "/edi/x12/validate";
const OUTBOUND: &str = "/edi/x12/outbound/";

impl EdiPlugin {
    fn core(&self) -> PluginResult<Arc<Core>> {
        self.core.read().unwrap_or_else(|p| p.into_inner()).clone().ok_or_else(|| PluginError::Unavailable("edi-x12 is not initialized".into()))
    }
}

fn post_only(method: &str, endpoint: &str) -> PluginResult<()> {
    if method == "POST" {
        Ok(())
    } else {
        Err(PluginError::BadRequest(format!("{endpoint} takes POST with the document as the body, not {method}")))
    }
}

#[async_trait]
impl BackworksPlugin for EdiPlugin {
    plugin_metadata! {
        name: "edi-x12",
        description: "ASC X12 EDI: 850/855/856/810 in and out, 997/999/TA1 acknowledgments, drop folder",
        capabilities: ENDPOINT | CONNECTOR,
        config_schema: config::schema(),
        host: host,
    }

    async fn initialize(&self, raw: &Value) -> PluginResult<()> {
        let config = config::parse(raw)?;
        let host = self.host.get().cloned().ok_or_else(|| PluginError::Host("no host attached".into()))?;
        control::check_available(&host)?;
        let inbound = config.inbound.clone();
        let core = Arc::new(Core { host, config, controls: Controls::default(), received: AtomicU64::new(0), rejected: AtomicU64::new(0) });
        *self.core.write().unwrap_or_else(|p| p.into_inner()) = Some(core.clone());
        if let Some(folder) = inbound {
            let shown = folder.path.display().to_string();
            let poller = Poller::start(core, folder).map_err(|e| PluginError::InvalidConfig(format!("edi-x12 inbound.path {shown}: {e}")))?;
            *self.poller.lock().unwrap_or_else(|p| p.into_inner()) = Some(poller);
        }
        Ok(())
    }

    async fn process_endpoint_data(&self, endpoint: &str, method: &str, data: &str) -> PluginResult<Option<String>> {
        let endpoint = endpoint.trim_end_matches('/');
        if endpoint == INBOUND {
            post_only(method, endpoint)?;
            let core = self.core()?;
            core.received.fetch_add(1, Ordering::Relaxed);
            let receipt = inbound::receive(&core.host, &core.config, &core.controls, data, "http")?;
            if !receipt.accepted {
                core.rejected.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Some(receipt.ack))
        } else if endpoint == PARSE || endpoint == VALIDATE {
            post_only(method, endpoint)?;
            let core = self.core()?;
            let read = if endpoint == PARSE { envelope::read_tree } else { envelope::read };
            let mut ix = read(data.as_bytes(), &core.config).map_err(|e| PluginError::BadRequest(format!("not an X12 interchange: {}", e.0)))?;
            if let Some(at) = ix.next {
                ix.warnings.push(format!("another interchange starts at byte {at}: {endpoint} answers the first; /edi/x12 and the drop folder take them all"));
            }
            Ok(Some(json::interchange(&ix, endpoint == PARSE)))
        } else if let Some(set) = endpoint.strip_prefix(OUTBOUND) {
            post_only(method, endpoint)?;
            let core = self.core()?;
            send(&core, set, data).map(Some)
        } else {
            Ok(None)
        }
    }

    async fn health_check(&self) -> PluginResult<PluginHealth> {
        let mut health = PluginHealth::healthy();
        if let Ok(core) = self.core() {
            health.details = Some(json!({
                "received": core.received.load(Ordering::Relaxed),
                "rejected": core.rejected.load(Ordering::Relaxed),
                "partners": core.config.partners.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
            }));
        }
        Ok(health)
    }

    async fn shutdown(&self) -> PluginResult<()> {
        if let Some(mut poller) = self.poller.lock().unwrap_or_else(|p| p.into_inner()).take() {
            poller.stop();
        }
        Ok(())
    }
}

/// Outbound: checked with throwaway control numbers first, so a bad request burns none.
fn send(core: &Core, set: &str, data: &str) -> PluginResult<String> {
    let body: Value = serde_json::from_str(data).map_err(|e| PluginError::BadRequest(format!("the body is not JSON: {e}")))?;
    let request = outbound::request(set, &body, &core.config)?;
    outbound::generate(&request, &core.config, 0, 0)?;
    let (isa, groups) = core.controls.reserve(&core.host, 1)?;
    let text = outbound::generate(&request, &core.config, isa, groups[0])?;
    let meta = json!({
        "direction": "outbound", "partner": request.partner.id, "set": set,
        "interchange_control_number": format!("{isa:09}"), "group_control_number": groups[0],
        "transactions": request.transactions.len(),
    });
    core.host
        .emit_durable(&json!({"type": "edi-x12-outbound", "body": text, "meta": meta}))
        .map_err(|e| PluginError::Unavailable(format!("the buffer did not store the outbound document: {e}")))?;
    if let Some(dir) = &core.config.outbound {
        let file = dir.join(format!("{set}-{}-{isa:09}.x12", request.partner.id));
        std::fs::create_dir_all(dir).and_then(|()| dropfolder::write_atomically(&file, text.as_bytes()))
            .map_err(|e| PluginError::Internal(format!("outbound folder {}: {e}", dir.display())))?;
    }
    Ok(text)
}

export_plugin!(EdiPlugin);
