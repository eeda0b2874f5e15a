//! Backworks healthcare pack: HL7 v2 over MLLP with commit-then-ACK, HL7 v2 to FHIR R4, and a
//! FHIR uplink, as a native plugin (`libhl7_plugin.so`). See README.md.
//!
//! The plugin owns its MLLP socket and threads (started in `initialize`, joined in `shutdown`);
//! the host provides durability: `emit_durable` returns once the document is committed, and
//! only then is the ACK written.

pub mod ack;
pub mod clock;
pub mod config;
pub mod convert;
pub mod dedup;
pub mod fhir;
pub mod group;
pub mod http;
pub mod intake;
pub mod message;
pub mod mllp;
pub mod tls;
pub mod uplink;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};

use backworks_plugin_sdk::*;

use crate::ack::{Echo, Outcome, Problem};
use crate::convert::Converter;
use crate::dedup::{Begin, Dedup};
use crate::fhir::MapOptions;
use crate::group::GroupCommit;
use crate::mllp::{Frame, Listener};
use crate::uplink::UplinkState;

/// Counters of what the listener answered.
#[derive(Default)]
struct Counters {
    stored: AtomicU64,
    duplicates: AtomicU64,
    errors: AtomicU64,
    rejected: AtomicU64,
    commit_failures: AtomicU64,
}

/// Everything the MLLP threads share.
struct Intake {
    host: Host,
    converter: Converter,
    dedup: Dedup,
    counters: Counters,
    /// Documents of all connections, committed together.
    group: Arc<GroupCommit>,
    /// `unsafe_ack_before_commit`: documents go to committer threads after the ACK.
    unsafe_queue: Option<Mutex<mpsc::Sender<Value>>>,
    ack_delay: std::time::Duration,
}

impl Intake {
    /// Answers one frame: check, dedup, commit, then ACK.
    fn handle(&self, frame: Frame<'_>, peer: &SocketAddr) -> Option<String> {
        let bytes = match frame {
            Frame::Message(bytes) => bytes,
            Frame::TooLarge { head, size } => {
                self.counters.errors.fetch_add(1, Ordering::Relaxed);
                let echo = Echo::from_text(&convert::decode(head));
                let p = Problem::new(207, format!("message of {size} bytes exceeds mllp.max_message_size"), None);
                return ack::build(&echo, Outcome::Rejected, Some(&p));
            }
        };
        let text = convert::decode(bytes);
        let (m, checked) = match self.converter.accept(&text) {
            Ok(ok) => ok,
            Err(refused) => {
                let counter = if refused.outcome == Outcome::Rejected { &self.counters.rejected } else { &self.counters.errors };
                counter.fetch_add(1, Ordering::Relaxed);
                let echo = match message::Message::parse(&text) {
                    Ok(m) => Echo::from_message(&m),
                    Err(_) => Echo::from_text(&text),
                };
                self.host.log(LogLevel::Debug, &format!("refused a message from {peer}: {refused}"));
                return ack::build(&echo, refused.outcome, Some(&refused.problem));
            }
        };
        let echo = Echo::from_message(&m);
        let key = format!("{}|{}", checked.sender, checked.control_id);
        let document = json!({
            "type": "hl7v2",
            "body": text,
            "meta": {
                "dedup_key": key,
                "message_type": checked.kind.name(),
                "version": checked.version,
                "control_id": checked.control_id,
                "sender": checked.sender,
                "peer": peer.to_string(),
            }
        });
        if let Some(queue) = &self.unsafe_queue {
            // UNSAFE mode: the ACK leaves before the commit; a crash loses what is queued.
            let _ = queue.lock().unwrap_or_else(|e| e.into_inner()).send(document);
            self.counters.stored.fetch_add(1, Ordering::Relaxed);
            return ack::build(&echo, Outcome::Accepted, None);
        }
        if let Begin::Duplicate { id } = self.dedup.begin(&key) {
            self.counters.duplicates.fetch_add(1, Ordering::Relaxed);
            self.host.log(LogLevel::Info, &format!("resend of {key} (document {id}) acknowledged again, not stored twice"));
            return ack::build(&echo, Outcome::Accepted, None);
        }
        match self.group.store(document, &|docs| self.host.commit(docs, &[])) {
            Ok(id) => {
                self.dedup.finish(&key, Some(id));
                self.counters.stored.fetch_add(1, Ordering::Relaxed);
                if !self.ack_delay.is_zero() {
                    std::thread::sleep(self.ack_delay);
                }
                ack::build(&echo, Outcome::Accepted, None)
            }
            Err(e) => {
                self.dedup.finish(&key, None);
                self.counters.commit_failures.fetch_add(1, Ordering::Relaxed);
                let p = Problem::new(207, format!("the gateway could not store the message: {e}"), None);
                ack::build(&echo, Outcome::Rejected, Some(&p))
            }
        }
    }

    /// Reads back the keys of the documents stored within the window (a restart keeps them).
    fn load_dedup_keys(&self, window_ms: u64) -> PluginResult<usize> {
        let since = clock::unix_millis().saturating_sub(window_ms);
        let mut after = 0i64;
        let mut loaded = 0;
        loop {
            let page = self.host.documents_query(&json!({"type": "hl7v2", "since_ms": since, "after_id": after, "limit": 1000}))?;
            if page.is_empty() {
                return Ok(loaded);
            }
            for doc in &page {
                after = after.max(doc["id"].as_i64().unwrap_or(0));
                if let Some(key) = doc["meta"]["dedup_key"].as_str() {
                    self.dedup.remember(key.to_owned(), doc["id"].as_i64().unwrap_or(0), doc["received_at"].as_u64().unwrap_or(0));
                    loaded += 1;
                }
            }
        }
    }
}

struct Running {
    intake: Arc<Intake>,
    listener: Option<Listener>,
    uplink_error: Option<String>,
}

/// The `hl7-fhir` plugin.
#[derive(Default)]
pub struct Hl7Plugin {
    host: OnceLock<Host>,
    converter: Mutex<Option<Converter>>,
    running: Mutex<Option<Running>>,
    workers: Workers,
    uplink: Arc<Mutex<UplinkState>>,
}

impl Hl7Plugin {
    fn converter(&self) -> Converter {
        self.converter
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .unwrap_or(Converter { options: MapOptions { default_offset: "Z".into() } })
    }
}

impl Hl7Plugin {
    /// Committer threads of the unsafe mode: they store what was already acknowledged.
    fn start_committers(&self, host: &Host, group: &Arc<GroupCommit>) -> PluginResult<mpsc::Sender<Value>> {
        let (sender, receiver) = mpsc::channel::<Value>();
        let receiver = Arc::new(Mutex::new(receiver));
        for _ in 0..16 {
            let (host, receiver, group) = (host.clone(), receiver.clone(), group.clone());
            self.workers.spawn("hl7-committer", move |stop| {
                while !stop.is_set() {
                    let next = receiver.lock().unwrap_or_else(|e| e.into_inner()).recv_timeout(std::time::Duration::from_millis(100));
                    match next {
                        Ok(document) => {
                            let _ = group.store(document, &|docs| host.commit(docs, &[]));
                        }
                        Err(mpsc::RecvTimeoutError::Timeout) => {}
                        Err(mpsc::RecvTimeoutError::Disconnected) => return,
                    }
                }
            })?;
        }
        Ok(sender)
    }
}

#[async_trait]
impl BackworksPlugin for Hl7Plugin {
    fn name(&self) -> &str {
        "hl7-fhir"
    }

    fn version(&self) -> &str {
        env!("CARGO_PKG_VERSION")
    }

    fn description(&self) -> &str {
        "HL7 v2 over MLLP with commit-then-ACK, HL7 v2 to FHIR R4 transaction Bundles, FHIR uplink"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::ENDPOINT | Capabilities::CONNECTOR
    }

    fn config_schema(&self) -> Option<Value> {
        Some(config::schema())
    }

    fn attach_host(&self, host: Host) {
        let _ = self.host.set(host);
    }

    async fn initialize(&self, raw: &Value) -> PluginResult<()> {
        let cfg = config::parse(raw)?;
        let converter = Converter { options: MapOptions { default_offset: cfg.default_offset.clone() } };
        *self.converter.lock().unwrap_or_else(|e| e.into_inner()) = Some(converter.clone());
        let Some(host) = self.host.get().cloned() else {
            return Ok(()); // no host (a bare ABI harness): endpoints only
        };
        let group = Arc::new(GroupCommit::default());
        let unsafe_queue = if cfg.unsafe_ack_before_commit {
            host.warn("unsafe_ack_before_commit is on: messages are acknowledged before they are stored; a crash loses them");
            Some(Mutex::new(self.start_committers(&host, &group)?))
        } else {
            None
        };
        let intake = Arc::new(Intake {
            host: host.clone(),
            converter: converter.clone(),
            dedup: Dedup::new(cfg.dedup_window),
            counters: Counters::default(),
            group,
            unsafe_queue,
            ack_delay: cfg.ack_delay,
        });
        let mut listener = None;
        if let Some((bind, limits)) = cfg.mllp.clone() {
            let loaded = intake.load_dedup_keys(cfg.dedup_window.as_millis() as u64).map_err(|e| {
                PluginError::InvalidConfig(format!("the MLLP listener needs the buffer's documents (isolation: process): {e}"))
            })?;
            let handler_intake = intake.clone();
            let started = Listener::start(&bind, limits, Arc::new(move |frame: Frame<'_>, peer: &SocketAddr| handler_intake.handle(frame, peer)))
                .map_err(|e| PluginError::InvalidConfig(format!("mllp.listen {bind}: {e}")))?;
            host.info(&format!("MLLP listening on {} ({loaded} resend keys restored)", started.address));
            listener = Some(started);
        }
        let mut uplink_error = None;
        match cfg.uplink {
            Some(Ok(uplink_cfg)) => {
                let (host, state, converter) = (host.clone(), self.uplink.clone(), converter);
                let dead = count_dead_letters(&host);
                state.lock().unwrap_or_else(|e| e.into_inner()).dead_letter = dead;
                self.workers.spawn("fhir-uplink", move |stop| uplink::run(host, uplink_cfg, converter, &state, stop))?;
            }
            Some(Err(why)) => {
                host.warn(&format!("FHIR uplink not started: {why}; messages stay in the outbox"));
                uplink_error = Some(why);
            }
            None => {}
        }
        *self.running.lock().unwrap_or_else(|e| e.into_inner()) = Some(Running { intake, listener, uplink_error });
        Ok(())
    }

    async fn process_endpoint_data(&self, endpoint: &str, method: &str, data: &str) -> PluginResult<Option<String>> {
        let converter = self.converter();
        match (endpoint, method) {
            ("/hl7/parse", "POST") => {
                let m = convert::parse_for_endpoint(data).map_err(PluginError::BadRequest)?;
                let checked = intake::check(&m).map_err(|(outcome, problem)| convert::Refused { outcome, problem });
                Ok(Some(convert::to_json(&m, checked.as_ref()).to_string()))
            }
            ("/hl7/fhir", "POST") => {
                let bundle = converter.bundle(data).map_err(|r| PluginError::BadRequest(r.to_string()))?;
                Ok(Some(bundle.to_string()))
            }
            ("/hl7/parse" | "/hl7/fhir", _) => Err(PluginError::BadRequest(format!("{endpoint} takes POST with an HL7 v2 message as the body"))),
            _ => Ok(None),
        }
    }

    async fn health_check(&self) -> PluginResult<PluginHealth> {
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        let uplink = self.uplink.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut details = json!({"uplink": uplink.to_json()});
        let mut problems = Vec::new();
        if let Some(r) = running.as_ref() {
            let c = &r.intake.counters;
            details["mllp"] = json!({
                "listening": r.listener.as_ref().map(|l| l.address.to_string()),
                "connections": r.listener.as_ref().map(|l| l.stats.connections.load(Ordering::Relaxed)),
                "framing_errors": r.listener.as_ref().map(|l| l.stats.framing_errors.load(Ordering::Relaxed)),
                "stored": c.stored.load(Ordering::Relaxed),
                "duplicates": c.duplicates.load(Ordering::Relaxed),
                "content_errors": c.errors.load(Ordering::Relaxed),
                "rejected": c.rejected.load(Ordering::Relaxed),
                "commit_failures": c.commit_failures.load(Ordering::Relaxed),
                "resend_keys": r.intake.dedup.len(),
            });
            if let Some(why) = &r.uplink_error {
                problems.push(format!("FHIR uplink not running: {why}"));
            }
        }
        if uplink.dead_letter > 0 {
            problems.push(format!("{} Bundle(s) dead-lettered by the FHIR uplink", uplink.dead_letter));
        }
        if let Some(id) = uplink.retrying_id {
            // The reason belongs in the message: it is what a technician reads in /health.
            let why = uplink.last_error.as_deref().unwrap_or("unknown");
            problems.push(format!("FHIR uplink retrying document {id} (attempt {}): {why}", uplink.attempts));
        }
        Ok(PluginHealth {
            status: if problems.is_empty() { HealthStatus::Healthy } else { HealthStatus::Degraded },
            message: (!problems.is_empty()).then(|| problems.join("; ")),
            details: Some(details),
        })
    }

    async fn shutdown(&self) -> PluginResult<()> {
        if let Some(mut r) = self.running.lock().unwrap_or_else(|e| e.into_inner()).take() {
            if let Some(l) = r.listener.as_mut() {
                l.stop();
            }
        }
        self.workers.stop_and_join();
        Ok(())
    }
}

/// Dead letters survive restarts: they are documents with that status.
fn count_dead_letters(host: &Host) -> u64 {
    let mut after = 0i64;
    let mut count = 0u64;
    while let Ok(page) = host.documents_query(&json!({"type": "hl7v2", "status": uplink::STATUS_DEAD, "after_id": after, "limit": 1000})) {
        if page.is_empty() {
            break;
        }
        count += page.len() as u64;
        after = page.iter().filter_map(|d| d["id"].as_i64()).max().unwrap_or(after);
    }
    count
}

export_plugin!(Hl7Plugin);
