//! The FHIR uplink: the outbox is the stored HL7 documents whose status is still `received`, in
//! id order. Each is converted to its transaction Bundle and POSTed to `base_url`; 2xx marks it
//! `fhir_sent`. Failures are retried with exponential back-off. A document the server refuses
//! (a 4xx answer) `max_attempts` times is marked `fhir_dead_letter` (shown in health and /api)
//! and the next one goes; one that gets no answer (server down, TLS failure) or a "not now"
//! (5xx, 408, 429) is retried until it gets through, never dead-lettered. Documents are sent one
//! at a time, so the server sees them in order.

use std::sync::Mutex;
use std::time::Duration;

use backworks_plugin_sdk::{json, Host, Stop, Value};

use crate::convert::Converter;
use crate::http::Client;

pub const STATUS_PENDING: &str = "received";
pub const STATUS_SENT: &str = "fhir_sent";
pub const STATUS_DEAD: &str = "fhir_dead_letter";

#[derive(Debug, Clone)]
pub struct UplinkConfig {
    pub client: Client,
    pub max_attempts: u32,
    pub backoff: Duration,
    pub max_backoff: Duration,
    pub poll: Duration,
}

/// What health shows about the uplink.
#[derive(Debug, Default, Clone)]
pub struct UplinkState {
    pub sent: u64,
    pub dead_letter: u64,
    pub dead_letter_ids: Vec<i64>,
    pub retrying_id: Option<i64>,
    pub attempts: u32,
    pub last_error: Option<String>,
}

impl UplinkState {
    pub fn to_json(&self) -> Value {
        json!({
            "sent": self.sent,
            "dead_letter": self.dead_letter,
            "dead_letter_ids": self.dead_letter_ids,
            "retrying_document": self.retrying_id,
            "attempts": self.attempts,
            "last_error": self.last_error,
        })
    }
}

pub fn run(host: Host, config: UplinkConfig, converter: Converter, state: &Mutex<UplinkState>, stop: Stop) {
    let set = |f: &dyn Fn(&mut UplinkState)| f(&mut state.lock().unwrap_or_else(|e| e.into_inner()));
    let mut cursor: i64 = 0;
    while !stop.is_set() {
        let query = json!({"type": "hl7v2", "status": STATUS_PENDING, "after_id": cursor, "limit": 100, "with_body": true});
        let documents = match host.documents_query(&query) {
            Ok(d) => d,
            Err(e) => {
                set(&|s| s.last_error = Some(format!("reading the outbox: {e}")));
                stop.sleep(config.backoff);
                continue;
            }
        };
        if documents.is_empty() {
            stop.sleep(config.poll);
            continue;
        }
        for doc in documents {
            if stop.is_set() {
                return;
            }
            let id = doc["id"].as_i64().unwrap_or(0);
            cursor = cursor.max(id);
            let body = doc["body"].as_str().unwrap_or("");
            let bundle = match converter.bundle(body) {
                Ok(b) => b.to_string(),
                Err(e) => {
                    dead_letter(&host, id, format!("document {id} no longer converts: {e}"), &set);
                    continue;
                }
            };
            if send(&host, &config, id, &bundle, &set, &stop) == Sent::Stopped {
                return;
            }
        }
    }
}

#[derive(PartialEq)]
enum Sent {
    Done,
    Stopped,
}

/// Delivers one document, retrying with back-off until it is sent or dead-lettered (Done), or the
/// plugin stops (Stopped: the document stays pending and goes first next time).
fn send(host: &Host, config: &UplinkConfig, id: i64, bundle: &str, set: &dyn Fn(&dyn Fn(&mut UplinkState)), stop: &Stop) -> Sent {
    let (mut attempts, mut refusals) = (0u32, 0u32);
    loop {
        attempts += 1;
        let error = match deliver(&config.client, bundle) {
            Ok(()) => {
                // Marking it sent may fail (buffer full): then it is sent again later,
                // which the Bundle's conditional updates make harmless for Patient/Encounter.
                let _ = host.document_set_status(id, STATUS_SENT);
                set(&|s| {
                    s.sent += 1;
                    s.retrying_id = None;
                    s.attempts = 0;
                });
                return Sent::Done;
            }
            Err(Failure::Refused(e)) => {
                refusals += 1;
                if refusals >= config.max_attempts {
                    dead_letter(host, id, format!("document {id}: {attempts} attempts failed, last: {e}"), set);
                    return Sent::Done;
                }
                e
            }
            Err(Failure::Unreachable(e)) => e,
        };
        set(&|s| {
            s.retrying_id = Some(id);
            s.attempts = attempts;
            s.last_error = Some(error.clone());
        });
        let delay = config.backoff.saturating_mul(1 << (attempts - 1).min(16)).min(config.max_backoff);
        if stop.sleep(delay) {
            return Sent::Stopped;
        }
    }
}

/// Why a delivery attempt failed.
enum Failure {
    /// The server answered that it will not take this Bundle (a 4xx other than 408 and 429):
    /// counts towards `max_attempts`.
    Refused(String),
    /// No answer (refused connection, TLS handshake, timeout) or "not now" (5xx, 408, 429: a server
    /// in maintenance or overloaded): the way to the server is the problem, not the document, so
    /// it stays in the outbox and is retried.
    Unreachable(String),
}

fn deliver(client: &Client, bundle: &str) -> Result<(), Failure> {
    let answer = client.post("", "application/fhir+json", bundle.as_bytes()).map_err(Failure::Unreachable)?;
    if (200..300).contains(&answer.status) {
        return Ok(());
    }
    let why = format!("HTTP {}: {}", answer.status, answer.body.chars().take(300).collect::<String>());
    let not_now = answer.status >= 500 || answer.status == 408 || answer.status == 429;
    Err(if not_now { Failure::Unreachable(why) } else { Failure::Refused(why) })
}

fn dead_letter(host: &Host, id: i64, why: String, set: &dyn Fn(&dyn Fn(&mut UplinkState))) {
    host.warn(&format!("FHIR uplink dead-lettered {why}"));
    let _ = host.document_set_status(id, STATUS_DEAD);
    set(&|s| {
        s.dead_letter += 1;
        if s.dead_letter_ids.len() < 100 {
            s.dead_letter_ids.push(id);
        }
        s.retrying_id = None;
        s.attempts = 0;
        s.last_error = Some(why.clone());
    });
}
