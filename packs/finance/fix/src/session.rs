//! One FIX session's state machine, free of sockets and threads: frames and clock ticks go in;
//! bytes to send, documents and state to commit, and whether to disconnect come out.
//! The logic is QuickFIX's (Session.cpp), message by message, because its acceptance scripts
//! define what a correct engine does; outbound messages are built in `outbound.rs`.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use serde_json::{json, Value};

use crate::config::{Application, Role, SessionConfig};
use crate::message::Message;
use crate::store::Persistence;
use crate::time;
use crate::validate::{self, Problem, Reason};
use crate::wire;

/// Sent messages kept in memory for resend requests; older ones are read back from the store.
const SENT_CACHE: usize = 10_000;
/// ClOrdIDs remembered per session to drop PossResend duplicates.
const SEEN_ORDERS: usize = 100_000;

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
    pub documents: Vec<Value>,
    pub state: Vec<(String, String)>,
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
    pub(crate) sent_cache: BTreeMap<u64, Vec<u8>>,
    seen_orders: HashSet<String>,
    pub(crate) out: Output,
    seqs_dirty: bool,
    pub counters: Counters,
}

fn seq_key(name: &str) -> String {
    format!("{name}.seq")
}

pub(crate) fn sent_key(name: &str, seq: u64) -> String {
    format!("{name}.out.{seq}")
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
            sent_cache: BTreeMap::new(),
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

    fn incr_target(&mut self) {
        self.set_next_target(self.next_target + 1);
    }

    /// Sequence numbers back to 1 and the sent messages forgotten (ResetSeqNumFlag, ResetOnLogon).
    pub(crate) fn reset(&mut self) {
        self.set_next_sender(1);
        self.set_next_target(1);
        self.sent_cache.clear();
        self.queue.clear();
        self.resend_range = None;
        // A new session begins: ClOrdIDs seen in the previous one no longer make a PossResend a duplicate.
        self.seen_orders.clear();
    }

    /// Keeps a sent message for resend requests; it is committed with the batch that sends it.
    pub(crate) fn remember_sent(&mut self, seq: u64, bytes: &[u8]) {
        if self.cfg.persist {
            self.out.state.push((sent_key(&self.cfg.name, seq), String::from_utf8_lossy(bytes).into_owned()));
            if self.sent_cache.len() >= SENT_CACHE {
                self.sent_cache.pop_first();
            }
        }
        self.sent_cache.insert(seq, bytes.to_vec());
    }

    pub(crate) fn sent_message(&self, seq: u64) -> Option<Vec<u8>> {
        if let Some(bytes) = self.sent_cache.get(&seq) {
            return Some(bytes.clone());
        }
        if !self.cfg.persist {
            return None;
        }
        self.store.load(&sent_key(&self.cfg.name, seq)).ok().flatten().map(String::into_bytes)
    }

    /// Hands out what to commit, send and do; the session's sequence numbers ride along.
    pub fn take_output(&mut self) -> Output {
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
        self.sent_cache.clear();
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
                let msg = Message::from_fields(&fields, &dict);
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

    fn valid_logon_state(&self, msg_type: &str) -> bool {
        (msg_type == "A" && self.sent_reset)
            || self.received_reset
            || (msg_type == "A" && !self.received_logon)
            || (msg_type != "A" && self.received_logon)
            || (msg_type == "5" && self.sent_logon)
            || (msg_type != "5" && self.sent_logout.is_some())
            || msg_type == "4"
            || msg_type == "3"
    }

    /// QuickFIX's verify: logon state, SendingTime, CompIDs, then sequence number too high (queue
    /// it, ask for a resend) or too low (logout, unless PossDup). Ok(false): stop here.
    pub(crate) fn verify(&mut self, msg: &Message, check_high: bool, check_low: bool, now: i64) -> Result<bool, Failure> {
        let msg_type = msg.msg_type();
        let seq = if check_high || check_low {
            Some(msg.seq_num().ok_or_else(|| Failure::Disconnect("MsgSeqNum missing".into()))?)
        } else {
            None
        };
        if !self.valid_logon_state(msg_type) {
            return Err(Failure::Disconnect(format!("logon state is not valid for a message of type {msg_type}")));
        }
        let sent_at = msg.header.get(52).and_then(time::parse_timestamp);
        if sent_at.is_none_or(|t| (now - t).abs() > self.cfg.max_latency_ms) {
            self.generate_reject(msg, Problem { reason: Reason::SendingTimeAccuracyProblem, tag: None }, now)?;
            self.generate_logout(None, now);
            return Ok(false);
        }
        if msg.header.get(49) != Some(self.cfg.target_comp_id.as_str()) || msg.header.get(56) != Some(self.cfg.sender_comp_id.as_str()) {
            self.generate_reject(msg, Problem { reason: Reason::CompIdProblem, tag: None }, now)?;
            self.generate_logout(None, now);
            return Ok(false);
        }
        if let Some(seq) = seq {
            if check_high && seq > self.next_target {
                self.target_too_high(msg, seq, now);
                return Ok(false);
            }
            if check_low && seq < self.next_target {
                self.target_too_low(msg, seq, now)?;
                return Ok(false);
            }
            if self.resend_range.is_some_and(|(_, end)| seq >= end) {
                self.event(format!("resend request satisfied at {seq}"));
                self.resend_range = None;
            }
        }
        self.last_received = now;
        self.test_requests = 0;
        Ok(true)
    }

    fn target_too_high(&mut self, msg: &Message, seq: u64, now: i64) {
        self.event(format!("MsgSeqNum too high, expecting {} but received {seq}", self.next_target));
        self.queue.insert(seq, msg.clone());
        if let Some((begin, _)) = self.resend_range {
            if seq >= begin {
                return; // already asked: no redundant resend request
            }
        }
        self.generate_resend_request(seq, now);
    }

    fn target_too_low(&mut self, msg: &Message, seq: u64, now: i64) -> Result<(), Failure> {
        if msg.header.get(43) != Some("Y") {
            let text = format!("MsgSeqNum too low, expecting {} but received {seq}", self.next_target);
            self.generate_logout(Some(&text), now);
            return Err(Failure::Disconnect(text));
        }
        if msg.msg_type() == "4" {
            return Ok(());
        }
        let Some(original) = msg.header.get(122) else {
            return self.generate_reject(msg, Problem { reason: Reason::RequiredTagMissing, tag: Some(122) }, now);
        };
        let sent = msg.header.get(52).and_then(time::parse_timestamp);
        if time::parse_timestamp(original).zip(sent).is_some_and(|(orig, sent)| orig > sent) {
            self.generate_reject(msg, Problem { reason: Reason::SendingTimeAccuracyProblem, tag: None }, now)?;
            self.generate_logout(None, now);
        }
        Ok(())
    }

    fn next_logon(&mut self, msg: &Message, now: i64) -> Result<(), Failure> {
        let reset_flag = msg.body.get(141) == Some("Y");
        self.received_reset = reset_flag;
        if reset_flag {
            self.event("Logon has ResetSeqNumFlag=Y: sequence numbers back to 1".into());
            if !self.sent_reset {
                self.reset();
            }
        }
        if self.initiate && !self.sent_logon && !reset_flag {
            return Err(Failure::Disconnect("received a logon response before sending a logon".into()));
        }
        if !self.in_schedule(now) {
            self.generate_logout(Some("Logon outside of session time"), now);
            return Err(Failure::Disconnect("logon outside of session time".into()));
        }
        if !self.initiate && self.cfg.reset_on_logon {
            self.reset();
        }
        if !self.verify(msg, false, true, now)? {
            return Ok(());
        }
        self.received_logon = true;
        if !self.initiate || (self.received_reset && !self.sent_reset) {
            if let Some(hb) = msg.body.get(108).and_then(|h| h.parse::<i64>().ok()) {
                self.heartbeat_ms = hb * 1000;
            }
            self.generate_logon_response(msg, now);
        }
        self.event(format!("logged on (next sender {}, next target {})", self.next_sender, self.next_target));
        self.sent_reset = false;
        self.received_reset = false;
        let seq = msg.seq_num().unwrap_or(0);
        if seq > self.next_target && !reset_flag {
            self.target_too_high(msg, seq, now);
        } else {
            self.incr_target();
        }
        Ok(())
    }

    fn next_heartbeat(&mut self, msg: &Message, now: i64) -> Result<(), Failure> {
        if self.verify(msg, true, true, now)? {
            self.incr_target();
        }
        Ok(())
    }

    fn next_test_request(&mut self, msg: &Message, now: i64) -> Result<(), Failure> {
        if self.verify(msg, true, true, now)? {
            let id = msg.body.get(112).unwrap_or("").to_owned();
            self.generate_heartbeat(Some(&id), now);
            self.incr_target();
        }
        Ok(())
    }

    fn next_reject(&mut self, msg: &Message, now: i64) -> Result<(), Failure> {
        if self.verify(msg, false, true, now)? {
            self.incr_target();
        }
        Ok(())
    }

    fn next_logout(&mut self, msg: &Message, now: i64) -> Result<(), Failure> {
        if !self.verify(msg, false, false, now)? {
            return Ok(());
        }
        if self.sent_logout.is_none() {
            self.generate_logout(None, now);
        }
        self.incr_target();
        Err(Failure::Disconnect("logout".into()))
    }

    fn next_sequence_reset(&mut self, msg: &Message, now: i64) -> Result<(), Failure> {
        let gap_fill = msg.body.get(123) == Some("Y");
        if !self.verify(msg, gap_fill, gap_fill, now)? {
            return Ok(());
        }
        if let Some(new_seq) = msg.body.get(36).and_then(|v| v.parse::<u64>().ok()) {
            self.event(format!("SequenceReset to {new_seq}"));
            if new_seq > self.next_target {
                self.set_next_target(new_seq);
            } else if new_seq < self.next_target {
                self.generate_reject(msg, Problem { reason: Reason::ValueIsIncorrect, tag: None }, now)?;
            }
        }
        Ok(())
    }

    fn next_resend_request(&mut self, msg: &Message, now: i64) -> Result<(), Failure> {
        if !self.verify(msg, false, false, now)? {
            return Ok(());
        }
        let begin = msg.body.get(7).and_then(|v| v.parse::<u64>().ok()).unwrap_or(1);
        let mut end = msg.body.get(16).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        let infinity = if self.cfg.begin_string.as_str() >= "FIX.4.2" { 0 } else { 999_999 };
        if end == infinity || end >= self.next_sender {
            end = self.next_sender - 1;
        }
        self.event(format!("resend request {begin} to {end}"));
        self.resend(begin, end, now);
        let seq = msg.seq_num().unwrap_or(0);
        if seq == self.next_target {
            self.incr_target();
        }
        Ok(())
    }

    /// An application message passed every session check.
    fn from_app(&mut self, msg: &Message) -> Result<(), Failure> {
        let msg_type = msg.msg_type().to_owned();
        if self.cfg.application == Application::Echo && !matches!(msg_type.as_str(), "D" | "d") {
            return Err(Failure::UnsupportedMessageType);
        }
        if msg_type == "D" {
            let order = msg.body.get(11).unwrap_or("").to_owned();
            if msg.header.get(97) == Some("Y") && self.seen_orders.contains(&order) {
                self.event(format!("PossResend order {order} already received: ignored"));
                return Ok(());
            }
            if self.seen_orders.len() >= SEEN_ORDERS {
                self.seen_orders.clear();
            }
            self.seen_orders.insert(order);
        }
        self.store_document(msg);
        if self.cfg.application == Application::Echo {
            let mut echo = msg.clone();
            echo.header.remove(43);
            echo.header.remove(122);
            let now = time::now_ms();
            self.send_raw(echo, None, now);
        }
        Ok(())
    }

    /// The received message goes into the buffer with the same commit that counts it received.
    fn store_document(&mut self, msg: &Message) {
        if !self.cfg.persist {
            return;
        }
        let body = String::from_utf8_lossy(&msg.encode(&self.cfg.begin_string)).into_owned();
        let mut meta = json!({
            "session": self.cfg.name,
            "msg_type": msg.msg_type(),
            "msg_seq_num": msg.seq_num(),
            "sender_comp_id": msg.header.get(49),
            "target_comp_id": msg.header.get(56),
            "sending_time": msg.header.get(52),
        });
        if msg.header.get(43) == Some("Y") {
            meta["poss_dup"] = json!(true);
        }
        if let Some(name) = self.cfg.dictionary.messages.get(msg.msg_type()).map(|m| m.name.clone()) {
            meta["msg_name"] = json!(name);
        }
        self.counters.stored += 1;
        self.out.documents.push(json!({ "type": "fix", "body": body, "meta": meta }));
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
