//! What a session does with each message it receives, after the envelope and the dictionary
//! checks: QuickFIX's verify (logon state, SendingTime, CompIDs, sequence number) and the handler
//! of each session message type; application messages go to the buffer (and the echo application).

use std::fmt::Write;

use backworks_plugin_sdk::push_json_string;
use serde_json::json;

use crate::config::Application;
use crate::message::Message;
use crate::session::{Failure, Session};
use crate::time;
use crate::validate::{Problem, Reason};

/// ClOrdIDs remembered per session to drop PossResend duplicates.
const SEEN_ORDERS: usize = 100_000;

impl Session {
    pub(crate) fn valid_logon_state(&self, msg_type: &str) -> bool {
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

    pub(crate) fn target_too_high(&mut self, msg: &Message, seq: u64, now: i64) {
        self.event(format!("MsgSeqNum too high, expecting {} but received {seq}", self.next_target));
        self.queue.insert(seq, msg.clone());
        if let Some((begin, _)) = self.resend_range {
            if seq >= begin {
                return; // already asked: no redundant resend request
            }
        }
        self.generate_resend_request(seq, now);
    }

    pub(crate) fn target_too_low(&mut self, msg: &Message, seq: u64, now: i64) -> Result<(), Failure> {
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

    pub(crate) fn next_logon(&mut self, msg: &Message, now: i64) -> Result<(), Failure> {
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

    pub(crate) fn next_heartbeat(&mut self, msg: &Message, now: i64) -> Result<(), Failure> {
        if self.verify(msg, true, true, now)? {
            self.incr_target();
        }
        Ok(())
    }

    pub(crate) fn next_test_request(&mut self, msg: &Message, now: i64) -> Result<(), Failure> {
        if self.verify(msg, true, true, now)? {
            let id = msg.body.get(112).unwrap_or("").to_owned();
            self.generate_heartbeat(Some(&id), now);
            self.incr_target();
        }
        Ok(())
    }

    pub(crate) fn next_reject(&mut self, msg: &Message, now: i64) -> Result<(), Failure> {
        if self.verify(msg, false, true, now)? {
            self.incr_target();
        }
        Ok(())
    }

    pub(crate) fn next_logout(&mut self, msg: &Message, now: i64) -> Result<(), Failure> {
        if !self.verify(msg, false, false, now)? {
            return Ok(());
        }
        if self.sent_logout.is_none() {
            self.generate_logout(None, now);
        }
        self.incr_target();
        Err(Failure::Disconnect("logout".into()))
    }

    pub(crate) fn next_sequence_reset(&mut self, msg: &Message, now: i64) -> Result<(), Failure> {
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

    pub(crate) fn next_resend_request(&mut self, msg: &Message, now: i64) -> Result<(), Failure> {
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
    pub(crate) fn from_app(&mut self, msg: &Message) -> Result<(), Failure> {
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
            // What the answer is built from: the raw bytes and the trailer are not needed.
            let mut echo = Message { header: msg.header.clone(), body: msg.body.clone(), ..Message::default() };
            echo.header.remove(43);
            echo.header.remove(122);
            let now = time::now_ms();
            self.send_raw(echo, None, now);
        }
        Ok(())
    }

    /// The received message goes into the buffer with the same commit that counts it received.
    pub(crate) fn store_document(&mut self, msg: &Message) {
        if !self.cfg.persist {
            return;
        }
        let encoded;
        let raw = if msg.raw.is_empty() {
            encoded = msg.encode(&self.cfg.begin_string);
            &encoded
        } else {
            &msg.raw
        };
        let body = String::from_utf8_lossy(raw);
        self.counters.stored += 1;
        // The same message as a reading, so the fleet link carries it upstream (data/fix.<session>).
        if self.cfg.fleet_readings {
            let name = self.cfg.dictionary.messages.get(msg.msg_type()).map(|m| m.name.clone()).unwrap_or_else(|| msg.msg_type().to_owned());
            self.out.readings.push(json!({ "device": format!("fix.{}", self.cfg.name), "point": name, "value": body.replace('\x01', "|") }));
        }
        // {"type":"fix","body":..,"meta":{..}} written straight into the batch. The meta is small:
        // the header fields are in the body; the API filters on these.
        let out = &mut self.out.documents;
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str("{\"type\":\"fix\",\"body\":");
        push_json_string(out, &body);
        out.push_str(",\"meta\":{\"session\":");
        push_json_string(out, &self.cfg.name);
        out.push_str(",\"msg_type\":");
        push_json_string(out, msg.msg_type());
        out.push_str(",\"msg_seq_num\":");
        match msg.seq_num() {
            Some(n) => {
                let _ = write!(out, "{n}");
            }
            None => out.push_str("null"),
        }
        if msg.header.get(43) == Some("Y") {
            out.push_str(",\"poss_dup\":true");
        }
        out.push_str("}}");
        self.out.document_count += 1;
    }
}
