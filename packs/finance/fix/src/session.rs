//! One FIX session's state machine, free of sockets and threads: frames and clock ticks go in;
//! bytes to send, documents and state to commit, and whether to disconnect come out.
//! The logic is QuickFIX's (Session.cpp), message by message, because its acceptance scripts
//! define what a correct engine does; outbound messages are built in `outbound.rs`.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use serde_json::Value;

use crate::config::{Role, SessionConfig};
use crate::message::Message;
use crate::sent::SentMessages;
use crate::store::Persistence;
use crate::validate::{self, Problem, Reason};
use crate::wire;


/// Why processing a message stopped, as QuickFIX's exceptions say it.
#[derive(Debug)]
pub(crate) enum Failure {
    Reject(Problem),
    /// A field the session layer needs is missing (FieldNotFound).
    Missing(i32),
    UnsupportedVersion,
    UnsupportedMessageType,
    Disconnect(String),
}

/// What a batch of work produced; the connection commits `documents` and `state` first,
/// then writes `bytes`, then closes when `close` says so.
#[derive(Debug, Default)]
pub struct Output {
    pub bytes: Vec<u8>,
    /// The received messages to store: JSON objects separated by commas (the inside of a
    /// commit batch's "documents" array, written as they arrive: no `Value` per message).
    pub documents: String,
    pub document_count: usize,
    pub state: Vec<(String, String)>,
    /// Emitted after the commit (fire-and-forget): what the fleet link publishes.
    pub readings: Vec<Value>,
    pub close: Option<String>,
    pub events: Vec<String>,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Counters {
    pub received: u64,
    pub sent: u64,
    pub rejected: u64,
    pub garbled: u64,
    pub stored: u64,
}

pub struct Session {
    pub cfg: Arc<SessionConfig>,
    pub(crate) store: Arc<dyn Persistence>,
    pub(crate) next_sender: u64,
    pub(crate) next_target: u64,
    pub(crate) initiate: bool,
    pub(crate) connected: bool,
    pub(crate) connected_at: i64,
    pub(crate) received_logon: bool,
    pub(crate) sent_logon: bool,
    pub(crate) sent_logout: Option<i64>,
    pub(crate) sent_reset: bool,
    pub(crate) received_reset: bool,
    pub(crate) resend_range: Option<(u64, u64)>,
    pub(crate) queue: BTreeMap<u64, Message>,
    pub(crate) heartbeat_ms: i64,
    pub(crate) last_sent: i64,
    pub(crate) last_received: i64,
    pub(crate) test_requests: u32,
    pub(crate) sent: SentMessages,
    pub(crate) seen_orders: HashSet<String>,
    pub(crate) out: Output,
    seqs_dirty: bool,
    pub counters: Counters,
}

fn seq_key(name: &str) -> String {
    format!("{name}.seq")
}

impl Session {
    /// A session with the sequence numbers its store last committed.
    pub fn new(cfg: Arc<SessionConfig>, store: Arc<dyn Persistence>) -> Result<Session, String> {
        let (next_sender, next_target) = match store.load(&seq_key(&cfg.name))? {
            Some(text) => {
                let mut parts = text.split(',').map(|p| p.parse::<u64>());
                match (parts.next(), parts.next()) {
                    (Some(Ok(s)), Some(Ok(t))) => (s, t),
                    _ => return Err(format!("stored sequence numbers of {} are not \"sender,target\": {text:?}", cfg.name)),
                }
            }
            None => (1, 1),
        };
        Ok(Session {
            heartbeat_ms: cfg.heartbeat_ms,
            sent: SentMessages::new(&cfg.name, cfg.persist),
            cfg,
            store,
            next_sender,
            next_target,
            initiate: false,
            connected: false,
            connected_at: 0,
            received_logon: false,
            sent_logon: false,
            sent_logout: None,
            sent_reset: false,
            received_reset: false,
            resend_range: None,
            queue: BTreeMap::new(),
            last_sent: 0,
            last_received: 0,
            test_requests: 0,
            seen_orders: HashSet::new(),
            out: Output::default(),
            seqs_dirty: false,
            counters: Counters::default(),
        })
    }

    pub fn logged_on(&self) -> bool {
        self.received_logon && self.sent_logon
    }

    pub fn next_sender(&self) -> u64 {
        self.next_sender
    }

    pub fn next_target(&self) -> u64 {
        self.next_target
    }

    /// "logged_on", "logon_sent", "awaiting_logon", "logout_sent" or "disconnected".
    pub fn state_name(&self) -> &'static str {
        match (self.connected, self.sent_logout.is_some(), self.logged_on(), self.sent_logon) {
            (false, ..) => "disconnected",
            (true, true, ..) => "logout_sent",
            (true, false, true, _) => "logged_on",
            (true, false, false, true) => "logon_sent",
            (true, false, false, false) => "awaiting_logon",
        }
    }

    pub(crate) fn event(&mut self, text: String) {
        self.out.events.push(format!("{}: {text}", self.cfg.name));
    }

    pub(crate) fn close(&mut self, reason: impl Into<String>) {
        if self.out.close.is_none() {
            let reason = reason.into();
            self.event(format!("disconnecting: {reason}"));
            self.out.close = Some(reason);
        }
    }

    pub(crate) fn set_next_sender(&mut self, seq: u64) {
        self.next_sender = seq;
        self.seqs_dirty = true;
    }

    pub(crate) fn set_next_target(&mut self, seq: u64) {
        self.next_target = seq;
        self.seqs_dirty = true;
    }

    pub(crate) fn incr_target(&mut self) {
        self.set_next_target(self.next_target + 1);
    }

    /// Sequence numbers back to 1 and the sent messages forgotten (ResetSeqNumFlag, ResetOnLogon).
    pub(crate) fn reset(&mut self) {
        self.set_next_sender(1);
        self.set_next_target(1);
        self.sent.clear();
        self.queue.clear();
        self.resend_range = None;
        // A new session begins: ClOrdIDs seen in the previous one no longer make a PossResend a duplicate.
        self.seen_orders.clear();
    }

    /// Keeps a sent message for resend requests; it is committed with the batch that sends it.
    pub(crate) fn remember_sent(&mut self, seq: u64, bytes: Vec<u8>) {
        self.sent.insert(seq, bytes);
    }

    pub(crate) fn sent_message(&self, seq: u64) -> Option<Vec<u8>> {
        self.sent.get(seq, self.next_sender, self.store.as_ref())
    }

    /// Hands out what to commit, send and do; the session's sequence numbers ride along.
    pub fn take_output(&mut self) -> Output {
        if self.cfg.persist {
            let writes = self.sent.take_writes(self.store.as_ref());
            self.out.state.extend(writes);
        }
        if self.seqs_dirty && self.cfg.persist {
            let value = format!("{},{}", self.next_sender, self.next_target);
            self.out.state.push((seq_key(&self.cfg.name), value));
        }
        self.seqs_dirty = false;
        std::mem::take(&mut self.out)
    }

    /// The store refused the last batch: nothing of it was sent. Go back to what is committed.
    pub fn on_commit_failed(&mut self, why: &str) -> Result<(), String> {
        let fresh = Session::new(self.cfg.clone(), self.store.clone())?;
        self.next_sender = fresh.next_sender;
        self.next_target = fresh.next_target;
        self.sent.clear();
        self.close(format!("the buffer refused to commit: {why}"));
        Ok(())
    }

    /// A TCP connection is up; an initiator sends its Logon at once.
    pub fn on_connected(&mut self, now: i64, initiate: bool) {
        self.connected = true;
        self.connected_at = now;
        self.initiate = initiate;
        self.received_logon = false;
        self.sent_logon = false;
        self.sent_logout = None;
        self.sent_reset = false;
        self.received_reset = false;
        self.resend_range = None;
        self.queue.clear();
        self.test_requests = 0;
        self.heartbeat_ms = self.cfg.heartbeat_ms;
        self.last_sent = now;
        self.last_received = now;
        if initiate {
            self.generate_logon(now);
        }
    }

    pub fn on_disconnected(&mut self) {
        if self.connected {
            self.event("disconnected".into());
        }
        self.connected = false;
        self.received_logon = false;
        self.sent_logon = false;
        self.sent_logout = None;
        self.queue.clear();
    }

    /// Bytes the frame reader had to throw away.
    pub fn on_garbage(&mut self, why: &str) {
        self.counters.garbled += 1;
        self.event(format!("garbled data ignored: {why}"));
    }

    /// One frame from the wire. Garbled messages are ignored (a garbled Logon disconnects).
    pub fn on_frame(&mut self, frame: &[u8], now: i64) {
        let dict = self.cfg.dictionary.clone();
        let checked = wire::split_fields(frame, |t| dict.is_data(t))
            .and_then(|fields| wire::check_envelope(frame, &fields).map(|()| fields));
        match checked {
            Err(why) => {
                self.on_garbage(&why);
                if wire::peek(frame, "35").as_deref() == Some("A") {
                    self.close(format!("garbled Logon: {why}"));
                }
            }
            Ok(fields) => {
                self.counters.received += 1;
                let mut msg = Message::from_fields(fields, &dict);
                msg.raw = frame.to_vec();
                self.next_message(msg, now, false);
            }
        }
    }

    pub(crate) fn next_message(&mut self, msg: Message, now: i64, queued: bool) {
        if let Err(failure) = self.dispatch(&msg, now) {
            self.handle_failure(&msg, failure, now);
        }
        if !queued {
            self.next_queued(now);
        }
    }

    fn dispatch(&mut self, msg: &Message, now: i64) -> Result<(), Failure> {
        for tag in [49, 56] {
            if !msg.header.has(tag) {
                return Err(Failure::Missing(tag));
            }
        }
        if msg.header.get(8) != Some(self.cfg.begin_string.as_str()) {
            return Err(Failure::UnsupportedVersion);
        }
        if self.cfg.validate {
            validate::validate(msg, &self.cfg.dictionary).map_err(Failure::Reject)?;
        }
        match msg.msg_type() {
            "A" => self.next_logon(msg, now),
            "0" => self.next_heartbeat(msg, now),
            "1" => self.next_test_request(msg, now),
            "2" => self.next_resend_request(msg, now),
            "3" => self.next_reject(msg, now),
            "4" => self.next_sequence_reset(msg, now),
            "5" => self.next_logout(msg, now),
            _ => {
                if self.verify(msg, true, true, now)? {
                    self.from_app(msg)?;
                    self.incr_target();
                }
                Ok(())
            }
        }
    }

    fn handle_failure(&mut self, msg: &Message, failure: Failure, now: i64) {
        let result = match failure {
            Failure::Reject(problem) => self.generate_reject(msg, problem, now),
            Failure::Missing(tag) => {
                let app = !self.cfg.dictionary.is_admin(msg.msg_type());
                if app && self.cfg.begin_string.as_str() >= "FIX.4.2" {
                    self.generate_business_reject(msg, 5, Some(tag), now);
                    Ok(())
                } else if msg.msg_type() == "A" {
                    Err(Failure::Disconnect(format!("Logon without {}", self.cfg.dictionary.field_name(tag))))
                } else {
                    self.generate_reject(msg, Problem { reason: Reason::RequiredTagMissing, tag: Some(tag) }, now)
                }
            }
            Failure::UnsupportedVersion => {
                if msg.msg_type() == "5" {
                    self.next_logout(msg, now)
                } else {
                    self.generate_logout(Some("Incorrect BeginString"), now);
                    self.incr_target();
                    Ok(())
                }
            }
            Failure::UnsupportedMessageType => {
                self.generate_business_reject(msg, 3, None, now);
                Ok(())
            }
            Failure::Disconnect(why) => Err(Failure::Disconnect(why)),
        };
        if let Err(Failure::Disconnect(why)) = result {
            self.close(why);
        }
    }

    fn next_queued(&mut self, now: i64) {
        while self.out.close.is_none() {
            let expected = self.next_target;
            while self.queue.first_key_value().is_some_and(|(seq, _)| *seq < expected) {
                self.queue.pop_first();
            }
            let Some(msg) = self.queue.remove(&expected) else { return };
            self.event(format!("processing queued message {expected}"));
            if matches!(msg.msg_type(), "A" | "2") {
                self.incr_target();
            } else {
                self.next_message(msg, now, true);
            }
        }
    }

    /// Periodic work: heartbeats, test requests, timeouts, the end of the session's hours.
    pub fn tick(&mut self, now: i64) {
        if !self.connected {
            return;
        }
        if let Some(at) = self.sent_logout {
            if now - at >= self.cfg.logout_timeout_ms {
                self.close("no logout answer in time");
            }
            return;
        }
        if !self.received_logon {
            if now - self.connected_at >= self.cfg.logon_timeout_ms {
                self.close("no logon in time");
            }
            return;
        }
        if !self.in_schedule(now) {
            self.generate_logout(Some("End of session time"), now);
            return;
        }
        let hb = self.heartbeat_ms;
        if hb <= 0 || (now - self.last_sent < hb && now - self.last_received < hb) {
            return;
        }
        let silent = now - self.last_received;
        if silent as f64 >= 2.4 * hb as f64 {
            self.close("timed out waiting for a heartbeat");
        } else if silent as f64 >= 1.2 * f64::from(self.test_requests + 1) * hb as f64 {
            self.generate_test_request("TEST", now);
            self.test_requests += 1;
        } else if now - self.last_sent >= hb && self.test_requests == 0 {
            self.generate_heartbeat(None, now);
        }
    }

    /// Whether `now` is within the session's hours (always, without start_time/end_time).
    pub fn in_schedule(&self, now: i64) -> bool {
        let Some((start, end)) = self.cfg.schedule else { return true };
        let second = now.rem_euclid(86_400_000) / 1000;
        if start <= end {
            second >= start && second < end
        } else {
            second >= start || second < end
        }
    }

    pub fn role(&self) -> Role {
        self.cfg.role
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    fn session(config: serde_json::Value) -> Session {
        let cfg = crate::config::parse(&config).unwrap().remove(0);
        Session::new(Arc::new(cfg), Arc::new(MemoryStore)).unwrap()
    }

    #[test]
    fn session_hours_may_span_midnight() {
        let day = session(serde_json::json!({"session_id": "S", "target_comp_id": "T", "port": 0, "start_time": "08:00:00", "end_time": "17:00:00"}));
        let night = session(serde_json::json!({"session_id": "S", "target_comp_id": "T", "port": 0, "start_time": "22:00:00", "end_time": "06:00:00"}));
        let at = |h: i64| 19_000 * 86_400_000 + h * 3_600_000;
        assert!(day.in_schedule(at(8)) && day.in_schedule(at(16)) && !day.in_schedule(at(17)) && !day.in_schedule(at(3)));
        assert!(night.in_schedule(at(23)) && night.in_schedule(at(5)) && !night.in_schedule(at(12)));
    }

    #[test]
    fn config_mistakes_name_the_key() {
        let err = |c: serde_json::Value| crate::config::parse(&c).unwrap_err();
        assert!(err(serde_json::json!({"session_id": "S", "port": 1})).contains("target_comp_id is required"));
        assert!(err(serde_json::json!({"session_id": "S", "target_comp_id": "T", "port": 1, "role": "initiator"})).contains("host and port are required"));
        assert!(err(serde_json::json!({"session_id": "S", "target_comp_id": "T", "port": 1, "heartbeat_interval": "5 parsecs"})).contains("heartbeat_interval"));
        assert!(err(serde_json::json!({"session_id": "S", "target_comp_id": "T", "port": 1, "begin_string": "FIX.4.3"})).contains("built in are FIX.4.2 and FIX.4.4"));
    }
}
