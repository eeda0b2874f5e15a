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

use crate::ack::{Answers, Echo, Outcome, Problem};
use crate::convert::Converter;
use crate::dedup::{Begin, Dedup};
use crate::intake::Policy;
use crate::fhir::MapOptions;
use crate::group::GroupCommit;
use crate::mllp::{Frame, Listener};
use crate::uplink::UplinkState;

/// Counters of what the listener answered and kept.
#[derive(Default)]
struct Counters {
    /// Documents committed, whatever their status.
    stored: AtomicU64,
    /// ... of which map to FHIR (status `received`, for the uplink)
    mapped: AtomicU64,
    /// ... of which are kept without a mapping (status `not_mapped`)
    not_mapped: AtomicU64,
    /// ... of which the gateway refused under NE/NE (status `refused`: no one to tell)
    refused_kept: AtomicU64,
    /// ... of which reuse a control id for other content (status `conflict`, answered AE/CE 205)
    conflicts: AtomicU64,
    /// Resends: answered as before, not stored again.
    duplicates: AtomicU64,
    /// Not well-formed: answered AE, not stored.
    errors: AtomicU64,
    /// Refused and answered AR/CR, not stored.
    rejected: AtomicU64,
    commit_failures: AtomicU64,
}

/// Document statuses the intake writes (the uplink moves `received` on to `fhir_sent`).
pub const STATUS_NOT_MAPPED: &str = "not_mapped";
pub const STATUS_REFUSED: &str = "refused";
pub const STATUS_CONFLICT: &str = "conflict";

/// Everything the MLLP threads share.
struct Intake {
    host: Host,
    converter: Converter,
    policy: Policy,
    dedup: Dedup,
    counters: Counters,
    /// Documents of all connections, committed together.
    group: Arc<GroupCommit>,
    /// `unsafe_ack_before_commit`: documents go to committer threads after the ACK.
    unsafe_queue: Option<Mutex<mpsc::Sender<Value>>>,
    ack_delay: std::time::Duration,
}

/// What the intake decided for a well-formed message before it is stored.
struct Verdict {
    status: &'static str,
    outcome: Outcome,
    problem: Option<Problem>,
    /// Why the document has its status (not mapped, refused, conflict), kept in its meta.
    reason: Option<String>,
}

fn counted(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Intake {
    /// Answers one frame: check, dedup, commit, then ACK.
    fn handle(&self, frame: Frame<'_>, peer: &SocketAddr) -> Answers {
        let bytes = match frame {
            Frame::Message(bytes) => bytes,
            Frame::TooLarge { head, size } => {
                counted(&self.counters.errors);
                let echo = Echo::from_text(&convert::decode(head));
                let p = Problem::new(207, format!("message of {size} bytes exceeds mllp.max_message_size"), None);
                return ack::answers(&echo, Outcome::Rejected, Some(&p), false);
            }
        };
        let text = convert::decode(bytes);
        let (m, checked) = match self.converter.accept(&text) {
            Ok(ok) => ok,
            Err(refused) => {
                counted(&self.counters.errors);
                let echo = match message::Message::parse(&text) {
                    Ok(m) => Echo::from_message(&m),
                    Err(_) => Echo::from_text(&text),
                };
                self.host.log(LogLevel::Info, &format!("refused a malformed message from {peer}: {refused}"));
                return ack::answers(&echo, refused.outcome, Some(&refused.problem), false);
            }
        };
        let echo = Echo::from_message(&m);
        let verdict = self.verdict(&m, &checked);
        // A refusal is answered; only one that no one would hear of (NE/NE) is kept to be seen.
        if verdict.outcome == Outcome::Rejected && !echo.silent() {
            counted(&self.counters.rejected);
            self.host.log(LogLevel::Info, &format!("refused {} {} from {peer}: {}", checked.message_type(), checked.control_id, verdict.reason.as_deref().unwrap_or("")));
            return ack::answers(&echo, verdict.outcome, verdict.problem.as_ref(), false);
        }
        let key = format!("{}|{}", checked.sender, checked.control_id);
        let hash = dedup::content_hash(&text);
        if let Some(queue) = &self.unsafe_queue {
            // UNSAFE mode: the ACK leaves before the commit; a crash loses what is queued.
            let document = document(&text, &checked, &verdict, &key, hash, peer);
            let _ = queue.lock().unwrap_or_else(|e| e.into_inner()).send(document);
            counted(&self.counters.stored);
            return ack::answers(&echo, verdict.outcome, verdict.problem.as_ref(), true);
        }
        let verdict = match self.dedup.begin(&key, hash) {
            Begin::Resend { id, status } => {
                counted(&self.counters.duplicates);
                self.host.log(LogLevel::Info, &format!("resend of {key} (document {id}, {status}) answered as before, not stored twice"));
                let (outcome, problem) = match status.as_str() {
                    STATUS_CONFLICT => (Outcome::Error, Some(conflict_problem(&checked, id))),
                    STATUS_REFUSED => (verdict.outcome, verdict.problem),
                    _ => (Outcome::Accepted, None),
                };
                return ack::answers(&echo, outcome, problem.as_ref(), true);
            }
            Begin::Fresh { conflict_with: Some(first) } if verdict.outcome != Outcome::Rejected => {
                let problem = conflict_problem(&checked, first);
                self.host.warn(&format!("conflict from {peer}: {}; kept with status conflict", problem.text));
                Verdict { status: STATUS_CONFLICT, outcome: Outcome::Error, reason: Some(problem.text.clone()), problem: Some(problem) }
            }
            Begin::Fresh { .. } => verdict,
        };
        let document = document(&text, &checked, &verdict, &key, hash, peer);
        match self.group.store(document, &|docs| self.host.commit(docs, &[])) {
            Ok(id) => {
                self.dedup.finish(&key, hash, Some((id, verdict.status)));
                counted(&self.counters.stored);
                counted(match verdict.status {
                    STATUS_NOT_MAPPED => &self.counters.not_mapped,
                    STATUS_REFUSED => &self.counters.refused_kept,
                    STATUS_CONFLICT => &self.counters.conflicts,
                    _ => &self.counters.mapped,
                });
                if verdict.status == STATUS_REFUSED {
                    let why = verdict.reason.as_deref().unwrap_or("");
                    self.host.warn(&format!("refused {key} from {peer} under NE/NE (no acknowledgment asked): kept as document {id} with status refused: {why}"));
                }
                if !self.ack_delay.is_zero() {
                    std::thread::sleep(self.ack_delay);
                }
                ack::answers(&echo, verdict.outcome, verdict.problem.as_ref(), true)
            }
            Err(e) => {
                self.dedup.finish(&key, hash, None);
                counted(&self.counters.commit_failures);
                let p = Problem::new(207, format!("the gateway could not store the message: {e}"), None);
                ack::answers(&echo, Outcome::Rejected, Some(&p), false)
            }
        }
    }

    /// Refused, mapped, or kept without a mapping.
    fn verdict(&self, m: &message::Message, checked: &intake::Checked) -> Verdict {
        if let Some(problem) = self.policy.refuses(checked) {
            let reason = Some(problem.text.clone());
            return Verdict { status: STATUS_REFUSED, outcome: Outcome::Rejected, problem: Some(problem), reason };
        }
        match self.converter.mapping(m, checked) {
            Ok(_) => Verdict { status: uplink::STATUS_PENDING, outcome: Outcome::Accepted, problem: None, reason: None },
            Err(why) => Verdict { status: STATUS_NOT_MAPPED, outcome: Outcome::Accepted, problem: None, reason: Some(why.text) },
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
                let id = doc["id"].as_i64().unwrap_or(0);
                after = after.max(id);
                let meta = &doc["meta"];
                let hash = meta["content_hash"].as_str().and_then(|h| u64::from_str_radix(h, 16).ok());
                if let (Some(key), Some(hash)) = (meta["dedup_key"].as_str(), hash) {
                    let status = doc["status"].as_str().unwrap_or(uplink::STATUS_PENDING).to_owned();
                    self.dedup.remember(key.to_owned(), hash, id, status, doc["received_at"].as_u64().unwrap_or(0));
                    loaded += 1;
                }
            }
        }
    }
}

/// The buffer document of a message: its text, the status it is kept with and why, and what
/// finds it again (the resend key and content hash a restart rebuilds the resend check from).
fn document(text: &str, checked: &intake::Checked, verdict: &Verdict, key: &str, hash: u64, peer: &SocketAddr) -> Value {
    let mut document = json!({
        "type": "hl7v2",
        "body": text,
        "status": verdict.status,
        "meta": {
            "dedup_key": key,
            "content_hash": format!("{hash:016x}"),
            "message_type": checked.message_type(),
            "version": checked.version,
            "control_id": checked.control_id,
            "sender": checked.sender,
            "peer": peer.to_string(),
        }
    });
    if let Some(reason) = &verdict.reason {
        document["meta"]["reason"] = json!(reason);
    }
    document
}

/// ERR 205 for a control id reused with other content.
fn conflict_problem(checked: &intake::Checked, first: i64) -> Problem {
    let earlier = if first > 0 { format!(" (document {first})") } else { String::new() };
    let text = format!(
        "conflict: control id {} from {} was already received with other content{earlier}; kept, not processed: send new content under a new MSH-10",
        checked.control_id,
        checked.sender.replace('|', " ")
    );
    Problem::new(205, text, Some(("MSH", 1, 10)))
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
    /// GET /hl7/documents/<status>: the newest 1,000 documents with that status (refused,
    /// conflict, not_mapped, received, fhir_sent, fhir_dead_letter), newest first, with their
    /// reason and body: what was kept without being processed, and why.
    fn documents_with_status(&self, status: &str) -> PluginResult<String> {
        const STATUSES: &[&str] = &[STATUS_REFUSED, STATUS_CONFLICT, STATUS_NOT_MAPPED, uplink::STATUS_PENDING, uplink::STATUS_SENT, uplink::STATUS_DEAD];
        if !STATUSES.contains(&status) {
            return Err(PluginError::BadRequest(format!("unknown status {status:?}: use one of {}", STATUSES.join(", "))));
        }
        let Some(host) = self.host.get() else { return Err(PluginError::Unavailable("no host: the plugin is not running in the gateway".into())) };
        let mut documents: Vec<Value> = Vec::new();
        let mut after = 0i64;
        loop {
            let page = host.documents_query(&json!({"type": "hl7v2", "status": status, "after_id": after, "limit": 1000, "with_body": true}))?;
            let Some(last) = page.last().and_then(|d| d["id"].as_i64()) else { break };
            after = last;
            documents.extend(page);
            if documents.len() > 1000 {
                documents.drain(..documents.len() - 1000);
            }
        }
        documents.reverse();
        Ok(json!({"status": status, "count": documents.len(), "documents": documents}).to_string())
    }

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
    plugin_metadata! {
        name: "hl7-fhir",
        description: "HL7 v2 over MLLP with commit-then-ACK, HL7 v2 to FHIR R4 transaction Bundles, FHIR uplink",
        capabilities: ENDPOINT | CONNECTOR,
        config_schema: config::schema(),
        host: host,
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
            policy: cfg.policy.clone(),
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
                let mapping = checked.as_ref().ok().map(|c| converter.mapping(&m, c));
                Ok(Some(convert::to_json(&m, checked.as_ref(), mapping.as_ref()).to_string()))
            }
            (path, "GET") if path.starts_with("/hl7/documents/") => self.documents_with_status(&path["/hl7/documents/".len()..]).map(Some),
            ("/hl7/fhir", "POST") => {
                let bundle = converter.bundle(data).map_err(|r| PluginError::BadRequest(r.to_string()))?;
                Ok(Some(bundle.to_string()))
            }
            (path, _) if path.starts_with("/hl7/documents/") => Err(PluginError::BadRequest(format!("{path} takes GET"))),
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
                "mapped": c.mapped.load(Ordering::Relaxed),
                "not_mapped": c.not_mapped.load(Ordering::Relaxed),
                "refused_kept": c.refused_kept.load(Ordering::Relaxed),
                "conflicts": c.conflicts.load(Ordering::Relaxed),
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
