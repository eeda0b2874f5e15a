//! Everything a session sends: session messages (Logon, Heartbeat, TestRequest, ResendRequest,
//! SequenceReset-GapFill, Reject, BusinessMessageReject, Logout), resends, and application
//! messages. Each new message takes the next sender sequence number and is kept for resends.

use crate::message::{FieldMap, Message};
use crate::session::{Failure, Session};
use crate::time;
use crate::validate::{Problem, Reason};

impl Session {
    /// Fills the standard header and queues the message. `resend_seq`: a resent or gap-fill
    /// message keeps that number and is neither stored again nor counted.
    pub(crate) fn send_raw(&mut self, mut msg: Message, resend_seq: Option<u64>, now: i64) -> u64 {
        let seq = resend_seq.unwrap_or(self.next_sender);
        msg.header.set(8, self.cfg.begin_string.clone());
        msg.header.set(49, self.cfg.sender_comp_id.clone());
        msg.header.set(56, self.cfg.target_comp_id.clone());
        msg.header.set(34, seq.to_string());
        msg.header.set(52, time::format_timestamp(now));
        let bytes = msg.encode(&self.cfg.begin_string);
        let msg_type = msg.msg_type();
        let admin = self.cfg.dictionary.is_admin(msg_type);
        let always = matches!(msg_type, "A" | "5" | "2" | "4");
        if self.connected && ((admin && (always || self.logged_on())) || (!admin && self.logged_on())) {
            self.out.bytes.extend_from_slice(&bytes);
            self.last_sent = now;
            self.counters.sent += 1;
        }
        if resend_seq.is_none() {
            self.remember_sent(seq, bytes);
            self.set_next_sender(seq + 1);
        }
        seq
    }

    fn admin(msg_type: &str, body: FieldMap) -> Message {
        let mut msg = Message { body, ..Message::default() };
        msg.header.set(35, msg_type);
        msg
    }

    pub(crate) fn generate_logon(&mut self, now: i64) {
        let mut body = FieldMap::default();
        body.set(98, "0");
        body.set(108, (self.cfg.heartbeat_ms / 1000).to_string());
        if self.cfg.reset_on_logon {
            self.reset();
            body.set(141, "Y");
            self.sent_reset = true;
        }
        self.sent_logon = true;
        self.last_received = now;
        self.test_requests = 0;
        self.send_raw(Session::admin("A", body), None, now);
    }

    pub(crate) fn generate_logon_response(&mut self, logon: &Message, now: i64) {
        let mut body = FieldMap::default();
        body.set(98, "0");
        if let Some(hb) = logon.body.get(108) {
            body.set(108, hb);
        }
        if self.received_reset {
            body.set(141, "Y");
        }
        self.sent_logon = true;
        self.last_received = now;
        self.test_requests = 0;
        self.send_raw(Session::admin("A", body), None, now);
    }

    pub(crate) fn generate_heartbeat(&mut self, test_req_id: Option<&str>, now: i64) {
        let mut body = FieldMap::default();
        if let Some(id) = test_req_id {
            body.set(112, id);
        }
        self.send_raw(Session::admin("0", body), None, now);
    }

    pub(crate) fn generate_test_request(&mut self, id: &str, now: i64) {
        let mut body = FieldMap::default();
        body.set(112, id);
        self.event(format!("sending test request {id}"));
        self.send_raw(Session::admin("1", body), None, now);
    }

    /// Asks for everything from the next expected number on (EndSeqNo 0: infinity).
    pub(crate) fn generate_resend_request(&mut self, received: u64, now: i64) {
        let begin = self.next_target;
        let mut body = FieldMap::default();
        body.set(7, begin.to_string());
        body.set(16, if self.cfg.begin_string.as_str() >= "FIX.4.2" { "0" } else { "999999" });
        self.resend_range = Some((begin, received.saturating_sub(1)));
        self.event(format!("sending resend request {begin} to infinity"));
        self.send_raw(Session::admin("2", body), None, now);
    }

    pub(crate) fn generate_logout(&mut self, text: Option<&str>, now: i64) {
        let mut body = FieldMap::default();
        if let Some(text) = text {
            body.set(58, text);
        }
        self.sent_logout = Some(now);
        self.send_raw(Session::admin("5", body), None, now);
    }

    fn generate_gap_fill(&mut self, begin: u64, new_seq: u64, now: i64) {
        let mut msg = Session::admin("4", FieldMap::default());
        msg.header.set(43, "Y");
        msg.header.set(122, time::format_timestamp(now));
        msg.body.set(36, new_seq.to_string());
        msg.body.set(123, "Y");
        self.send_raw(msg, Some(begin), now);
    }

    /// Answers a resend request: application messages again (PossDupFlag, OrigSendingTime),
    /// session messages and anything no longer stored as one gap fill per run.
    pub(crate) fn resend(&mut self, begin: u64, end: u64, now: i64) {
        let mut gap_from: Option<u64> = None;
        for seq in begin..=end {
            let stored = self.sent_message(seq).and_then(|bytes| Message::from_frame(&bytes, &self.cfg.dictionary));
            match stored {
                Some(mut msg) if !self.cfg.dictionary.is_admin(msg.msg_type()) => {
                    if let Some(from) = gap_from.take() {
                        self.generate_gap_fill(from, seq, now);
                    }
                    let original = msg.header.get(52).unwrap_or("").to_owned();
                    msg.header.set(43, "Y");
                    msg.header.set(122, original);
                    self.send_raw(msg, Some(seq), now);
                }
                _ => {
                    gap_from.get_or_insert(seq);
                }
            }
        }
        if let Some(from) = gap_from {
            self.generate_gap_fill(from, end + 1, now);
        }
    }

    /// Routing fields answered the other way round (OnBehalfOf <-> DeliverTo), as QuickFIX does.
    fn reverse_route(from: &Message, to: &mut Message) {
        let fix41 = from.header.get(8).is_some_and(|b| b >= "FIX.4.1");
        let mut pairs = vec![(115, 128), (116, 129), (128, 115), (129, 116)];
        if fix41 {
            pairs.extend([(144, 145), (145, 144)]);
        }
        for (theirs, ours) in pairs {
            if let Some(value) = from.header.get(theirs).filter(|v| !v.is_empty()) {
                to.header.set(ours, value);
            }
        }
    }

    /// A session-level Reject (35=3). Counts the rejected message as received when it was the
    /// expected one. Before a Logon was received there is no one to reject to: disconnect.
    pub(crate) fn generate_reject(&mut self, msg: &Message, problem: Problem, now: i64) -> Result<(), Failure> {
        let begin = self.cfg.begin_string.clone();
        let msg_type = msg.msg_type().to_owned();
        let mut reject = Session::admin("3", FieldMap::default());
        Session::reverse_route(msg, &mut reject);
        let seq = msg.header.get(34).filter(|s| !s.is_empty()).map(str::to_owned);
        if let Some(seq) = &seq {
            reject.body.set(45, seq.clone());
        }
        if begin.as_str() >= "FIX.4.2" {
            if !msg_type.is_empty() {
                reject.body.set(372, msg_type.clone());
            }
            if begin.as_str() > "FIX.4.2" || (problem.reason as u32) <= Reason::InvalidMsgType as u32 {
                reject.body.set(373, (problem.reason as u32).to_string());
            }
        }
        if msg_type != "A" && msg_type != "4" && msg.seq_num() == Some(self.next_target) {
            self.set_next_target(self.next_target + 1);
        }
        let tag = problem.tag.or((problem.reason == Reason::InvalidTagNumber).then_some(0));
        match tag {
            Some(tag) if begin.as_str() >= "FIX.4.2" => {
                reject.body.set(371, tag.to_string());
                reject.body.set(58, problem.reason.text());
            }
            Some(tag) => reject.body.set(58, format!("{} ({tag})", problem.reason.text())),
            None => reject.body.set(58, problem.reason.text()),
        }
        let text = format!("message {} rejected: {}", seq.as_deref().unwrap_or("?"), problem.describe(&self.cfg.dictionary));
        self.event(text.clone());
        self.counters.rejected += 1;
        if !self.received_logon {
            return Err(Failure::Disconnect(format!("{text} before logon")));
        }
        self.send_raw(reject, None, now);
        Ok(())
    }

    /// BusinessMessageReject (35=j): 3 unsupported message type, 5 conditionally required field missing.
    pub(crate) fn generate_business_reject(&mut self, msg: &Message, reason: u32, tag: Option<i32>, now: i64) {
        let mut reject = Session::admin("j", FieldMap::default());
        reject.body.set(372, msg.msg_type());
        reject.body.set(45, msg.header.get(34).unwrap_or("0"));
        reject.body.set(380, reason.to_string());
        let text = if reason == 3 { "Unsupported Message Type" } else { "Conditionally required field missing" };
        reject.body.set(58, match tag {
            Some(tag) => format!("{text} ({tag})"),
            None => text.to_owned(),
        });
        self.set_next_target(self.next_target + 1);
        self.counters.rejected += 1;
        self.event(format!("business reject of message {}: {text}", msg.header.get(34).unwrap_or("?")));
        self.send_raw(reject, None, now);
    }

    /// Sends an application message built by the API; while not logged on it is stored under its
    /// number and reaches the counterparty by resend after the next logon. Returns the number.
    pub fn send_app(&mut self, msg: Message, now: i64) -> u64 {
        self.send_raw(msg, None, now)
    }

    /// Starts a logout (plugin shutdown, end of session time).
    pub fn logout(&mut self, text: &str, now: i64) {
        if self.connected && self.sent_logout.is_none() {
            if self.logged_on() {
                self.generate_logout(Some(text), now);
            } else {
                self.close(text.to_owned());
            }
        }
    }
}
