//! One thread per session commits each batch the session produced — received messages, sequence
//! numbers, messages to send — then writes the bytes, in order. If a commit fails, nothing of that
//! batch or of any batch queued after it is sent: the session goes back to what is committed and
//! the connection is closed (the counterparty's next logon brings the gap back by resend).

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

pub fn run(slot: Arc<Slot>, batches: Receiver<Batch>, stop: Arc<AtomicBool>) {
    loop {
        match batches.recv_timeout(Duration::from_millis(20)) {
            Ok(batch) => commit(&slot, batch),
            Err(RecvTimeoutError::Timeout) if stop.load(Ordering::SeqCst) => return,
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

fn commit(slot: &Slot, batch: Batch) {
    let Batch { epoch, connection, writer, out, close, done } = batch;
    let result = if epoch < slot.epoch.load(Ordering::SeqCst) {
        Err("an earlier batch was refused by the buffer".to_owned())
    } else if out.documents.is_empty() && out.state.is_empty() {
        Ok(())
    } else {
        slot.store.commit(&out.documents, &out.state)
    };
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
