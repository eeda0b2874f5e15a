//! One thread per session commits each batch the session produced — received messages, sequence
//! numbers, messages to send — then writes the bytes, in order. If a commit fails, nothing of that
//! batch or of any batch queued after it is sent: the session goes back to what is committed and
//! the connection is closed (the counterparty's next logon brings the gap back by resend).

use std::collections::HashSet;
use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::Duration;

use crate::engine::Slot;
use crate::session::Output;

pub struct Batch {
    pub epoch: u64,
    pub connection: u64,
    pub writer: Option<Arc<TcpStream>>,
    pub out: Output,
    /// The session asked to disconnect: close the socket after writing.
    pub close: bool,
    pub done: Option<Sender<Result<(), String>>>,
}

/// Batches committed together at most (each holds at most engine::MAX_BATCH received messages).
const MAX_GROUP: usize = 16;

pub fn run(slot: Arc<Slot>, batches: Receiver<Batch>, stop: Arc<AtomicBool>) {
    loop {
        match batches.recv_timeout(Duration::from_millis(20)) {
            Ok(batch) => {
                // Group commit: what queued up during the last commit shares this one (one sync).
                let mut group = vec![batch];
                while group.len() < MAX_GROUP {
                    match batches.try_recv() {
                        Ok(next) => group.push(next),
                        Err(_) => break,
                    }
                }
                commit(&slot, group);
            }
            Err(RecvTimeoutError::Timeout) if stop.load(Ordering::SeqCst) => return,
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// Commits the documents and state of every batch of `group` queued before the last refusal, in
/// one host call, then writes each batch's bytes in order; all of them or none are sent.
fn commit(slot: &Slot, mut group: Vec<Batch>) {
    let epoch = slot.epoch.load(Ordering::SeqCst);
    let mut documents = String::new();
    let mut state = Vec::new();
    for batch in group.iter_mut().filter(|b| b.epoch >= epoch) {
        if !batch.out.documents.is_empty() {
            if !documents.is_empty() {
                documents.push(',');
            }
            documents.push_str(&batch.out.documents);
        }
        state.append(&mut batch.out.state);
    }
    // A key several batches wrote (a block of sent messages filling up) is stored once, last value.
    let mut seen = HashSet::new();
    let mut state: Vec<(String, String)> = state.into_iter().rev().filter(|(k, _)| seen.insert(k.clone())).collect();
    state.reverse();
    let committed = if documents.is_empty() && state.is_empty() { Ok(()) } else { slot.store.commit(&documents, &state) };
    for batch in group {
        let result = if batch.epoch < epoch { Err("an earlier batch was refused by the buffer".to_owned()) } else { committed.clone() };
        finish(slot, batch, result);
    }
}

/// Sends a batch whose commit succeeded; on failure goes back to what is committed (once).
fn finish(slot: &Slot, batch: Batch, result: Result<(), String>) {
    let Batch { epoch, connection, writer, out, close, done } = batch;
    match &result {
        Err(why) => {
            if let Some(w) = &writer {
                let _ = w.shutdown(Shutdown::Both);
            }
            let mut live = slot.lock();
            if epoch >= slot.epoch.load(Ordering::SeqCst) {
                (slot.log)(true, &format!("{}: commit failed, nothing of the batch was sent: {why}", slot.cfg.name));
                slot.epoch.fetch_add(1, Ordering::SeqCst);
                let _ = live.session.on_commit_failed(why);
                let _ = live.session.take_output();
                if live.connection == connection && live.writer.is_some() {
                    slot.detach(&mut live);
                }
            }
        }
        Ok(()) => {
            slot.store.emit(&out.readings);
            if let Some(w) = &writer {
                let failed = !out.bytes.is_empty() && (&**w).write_all(&out.bytes).is_err();
                if close || failed {
                    let _ = w.shutdown(Shutdown::Both);
                }
                if failed {
                    let mut live = slot.lock();
                    if live.connection == connection && live.writer.is_some() {
                        slot.detach(&mut live);
                    }
                }
            }
        }
    }
    slot.in_flight.fetch_sub(1, Ordering::SeqCst);
    if let Some(done) = done {
        let _ = done.send(result);
    }
}
