//! Sockets and threads: one listener per acceptor port, one thread per connection, one
//! connecting thread per initiator session, one committer per session. A connection thread
//! reads what has arrived and lets the session process every complete message; the committer
//! commits the batch's documents and state in one host call and only then writes the answers
//! (a message counts as received, and a sent message as sent, once it is durable) while the
//! connection thread already works on the next batch.

use std::collections::HashMap;
use std::io::{ErrorKind, Read};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::committer::{self, Batch};
use crate::config::{Role, SessionConfig};
use crate::session::Session;
use crate::store::Persistence;
use crate::time::now_ms;
use crate::wire::{self, Frame, FrameReader};

const POLL: Duration = Duration::from_millis(20);
/// Received messages per commit at most. A burst larger than this is committed in pieces: the
/// committer works on one while this thread processes the next, instead of everything waiting
/// for one big commit and then for the peer's next burst.
const MAX_BATCH: usize = 64;
/// Batches queued for the committer before this thread waits.
const MAX_QUEUED: usize = 8;

pub type Logger = Arc<dyn Fn(bool, &str) + Send + Sync>;

/// A session and the connection it currently has, behind one lock: what the session sends is
/// queued in sequence-number order, whether it comes from the socket, a timer or the API.
pub struct Live {
    pub session: Session,
    pub(crate) writer: Option<Arc<TcpStream>>,
    pub(crate) connection: u64,
    pub peer: Option<String>,
}

pub struct Slot {
    pub cfg: Arc<SessionConfig>,
    pub live: Mutex<Live>,
    pub(crate) log: Logger,
    pub(crate) store: Arc<dyn Persistence>,
    pub(crate) queue: Mutex<Sender<Batch>>,
    pub(crate) in_flight: AtomicUsize,
    /// Goes up when a commit fails: batches queued before that are dropped, never sent.
    pub(crate) epoch: AtomicU64,
}

impl Slot {
    pub fn lock(&self) -> MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues what the session produced for the committer (commit, then send). With `wait`,
    /// returns where the outcome will arrive: wait for it after releasing the lock.
    pub fn flush(&self, live: &mut Live, wait: bool) -> Option<Receiver<Result<(), String>>> {
        let out = live.session.take_output();
        for event in &out.events {
            (self.log)(false, event);
        }
        let close = out.close.is_some();
        let idle = out.bytes.is_empty() && out.documents.is_empty() && out.state.is_empty() && out.readings.is_empty();
        if idle && !close && !wait {
            return None;
        }
        let writer = live.writer.clone();
        if close {
            self.detach(live); // the committer writes the last bytes, then closes the socket
        }
        let (done, outcome) = if wait {
            let (tx, rx) = mpsc::channel();
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let batch = Batch { epoch: self.epoch.load(Ordering::SeqCst), connection: live.connection, writer, out, close, done };
        let _ = self.queue.lock().unwrap_or_else(|p| p.into_inner()).send(batch);
        outcome
    }

    /// The session no longer has this connection; the socket is closed by whoever holds it last.
    pub(crate) fn detach(&self, live: &mut Live) {
        live.writer = None;
        live.peer = None;
        live.session.on_disconnected();
    }

    fn disconnect(&self, live: &mut Live) {
        if let Some(writer) = live.writer.as_ref() {
            let _ = writer.shutdown(Shutdown::Both);
        }
        self.detach(live);
    }

    /// Makes `stream` this session's connection; refused while another one is up.
    fn attach(&self, stream: &TcpStream, initiate: bool) -> Option<u64> {
        let mut live = self.lock();
        if live.writer.is_some() {
            return None;
        }
        live.writer = Some(Arc::new(stream.try_clone().ok()?));
        live.connection += 1;
        live.peer = stream.peer_addr().ok().map(|a| a.to_string());
        live.session.on_connected(now_ms(), initiate);
        let id = live.connection;
        self.flush(&mut live, false);
        Some(id)
    }

    /// Backpressure: at most MAX_QUEUED batches committing or waiting per session (the committer
    /// takes every waiting one into its next commit).
    fn wait_for_committer(&self, stop: &AtomicBool) {
        while self.in_flight.load(Ordering::SeqCst) > MAX_QUEUED && !stop.load(Ordering::SeqCst) {
            thread::sleep(Duration::from_micros(100));
        }
    }
}

pub struct Engine {
    pub slots: Vec<Arc<Slot>>,
    stop: Arc<AtomicBool>,
    threads: Arc<Mutex<Vec<JoinHandle<()>>>>,
    /// Where each acceptor port listens (the real port when configured as 0: tests).
    pub listening: HashMap<u16, SocketAddr>,
}

impl Engine {
    pub fn start(configs: Vec<SessionConfig>, store: Arc<dyn Persistence>, log: Logger) -> Result<Engine, String> {
        let mut slots = Vec::new();
        let mut committers = Vec::new();
        for cfg in configs {
            let cfg = Arc::new(cfg);
            let session = Session::new(cfg.clone(), store.clone())?;
            let live = Live { session, writer: None, connection: 0, peer: None };
            let (queue, batches) = mpsc::channel();
            let slot = Arc::new(Slot {
                cfg,
                live: Mutex::new(live),
                log: log.clone(),
                store: store.clone(),
                queue: Mutex::new(queue),
                in_flight: AtomicUsize::new(0),
                epoch: AtomicU64::new(0),
            });
            committers.push((slot.clone(), batches));
            slots.push(slot);
        }
        let mut engine = Engine { slots, stop: Arc::new(AtomicBool::new(false)), threads: Arc::default(), listening: HashMap::new() };
        for (slot, batches) in committers {
            let stop = engine.stop.clone();
            engine.spawn(move || committer::run(slot, batches, stop));
        }
        let mut ports: HashMap<(String, u16), Vec<Arc<Slot>>> = HashMap::new();
        for slot in &engine.slots {
            match slot.cfg.role {
                Role::Acceptor => ports.entry((slot.cfg.host.clone(), slot.cfg.port)).or_default().push(slot.clone()),
                Role::Initiator => {
                    let (slot, stop, threads) = (slot.clone(), engine.stop.clone(), engine.threads.clone());
                    engine.spawn(move || initiate(slot, stop, threads));
                }
            }
        }
        for ((host, port), slots) in ports {
            let listener = TcpListener::bind((host.as_str(), port)).map_err(|e| format!("cannot listen on {host}:{port}: {e}"))?;
            listener.set_nonblocking(true).map_err(|e| e.to_string())?;
            engine.listening.insert(port, listener.local_addr().map_err(|e| e.to_string())?);
            let (stop, threads) = (engine.stop.clone(), engine.threads.clone());
            engine.spawn(move || accept(listener, slots, stop, threads));
        }
        Ok(engine)
    }

    fn spawn(&self, work: impl FnOnce() + Send + 'static) {
        let handle = thread::spawn(work);
        self.threads.lock().unwrap_or_else(|p| p.into_inner()).push(handle);
    }

    pub fn slot(&self, name: &str) -> Option<&Arc<Slot>> {
        self.slots.iter().find(|s| s.cfg.name == name)
    }

    /// Logs every session out (best effort), stops every thread and joins it.
    pub fn stop(&self) {
        for slot in &self.slots {
            let outcome = {
                let mut live = slot.lock();
                live.session.logout("shutting down", now_ms());
                slot.flush(&mut live, true)
            };
            if let Some(outcome) = outcome {
                let _ = outcome.recv_timeout(Duration::from_secs(2));
            }
        }
        self.stop.store(true, Ordering::SeqCst);
        loop {
            let handles: Vec<_> = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|p| p.into_inner()));
            if handles.is_empty() {
                break;
            }
            for handle in handles {
                let _ = handle.join();
            }
        }
    }
}

fn accept(listener: TcpListener, slots: Vec<Arc<Slot>>, stop: Arc<AtomicBool>, threads: Arc<Mutex<Vec<JoinHandle<()>>>>) {
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                let (slots, stop2) = (slots.clone(), stop.clone());
                let handle = thread::spawn(move || serve_acceptor(stream, slots, stop2));
                threads.lock().unwrap_or_else(|p| p.into_inner()).push(handle);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => thread::sleep(POLL),
            Err(_) => thread::sleep(POLL),
        }
    }
}

/// Which acceptor session a first message is for: its BeginString, and its CompIDs reversed.
fn identify<'a>(frame: &[u8], slots: &'a [Arc<Slot>]) -> Option<&'a Arc<Slot>> {
    let begin = frame.strip_prefix(b"8=").and_then(|rest| rest.split(|b| *b == wire::SOH).next()).map(String::from_utf8_lossy)?;
    let (sender, target) = (wire::peek(frame, "49")?, wire::peek(frame, "56")?);
    slots.iter().find(|s| s.cfg.begin_string == begin && s.cfg.target_comp_id == sender && s.cfg.sender_comp_id == target)
}

fn serve_acceptor(mut stream: TcpStream, slots: Vec<Arc<Slot>>, stop: Arc<AtomicBool>) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(POLL));
    let mut reader = FrameReader::default();
    let mut buf = vec![0u8; 64 * 1024];
    let deadline = now_ms() + 10_000;
    // Until a first message names a session, the connection belongs to none.
    let (slot, first) = loop {
        if stop.load(Ordering::SeqCst) || now_ms() > deadline {
            return;
        }
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => reader.push(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(_) => return,
        }
        match reader.next_frame() {
            Some(Frame::Message(frame)) => match identify(&frame, &slots) {
                Some(slot) => break (slot.clone(), frame),
                None => return, // unknown BeginString or CompIDs: no session to speak for
            },
            Some(Frame::Garbage(_)) | None => continue,
        }
    };
    let Some(id) = slot.attach(&stream, false) else {
        (slot.log)(false, &format!("{}: second connection refused, the session is already connected", slot.cfg.name));
        return; // already connected: the second connection is dropped
    };
    {
        let mut live = slot.lock();
        let processed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| live.session.on_frame(&first, now_ms())));
        if processed.is_err() {
            (slot.log)(true, &format!("{}: panic while processing a logon; disconnecting", slot.cfg.name));
            let _ = live.session.take_output();
            slot.disconnect(&mut live);
            return;
        }
        slot.flush(&mut live, false);
    }
    run(&slot, stream, reader, id, &stop);
}

/// Reads, processes, commits and writes until the connection ends or the plugin stops.
fn run(slot: &Slot, mut stream: TcpStream, mut reader: FrameReader, id: u64, stop: &AtomicBool) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(POLL));
    let mut buf = vec![0u8; 256 * 1024];
    // The last batch stopped at MAX_BATCH with messages still in the reader: process them first.
    let mut more = false;
    loop {
        let ended = if more {
            false
        } else {
            match stream.read(&mut buf) {
                Ok(0) => true,
                Ok(n) => {
                    reader.push(&buf[..n]);
                    false
                }
                Err(e) => !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted),
            }
        };
        more = false;
        let mut live = slot.lock();
        if live.connection != id || live.writer.is_none() {
            return;
        }
        if ended || stop.load(Ordering::SeqCst) {
            slot.disconnect(&mut live);
            return;
        }
        let now = now_ms();
        // A bug must cost this connection, not the plugin host: the peer reconnects, numbers are safe.
        let processed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            while let Some(frame) = reader.next_frame() {
                match frame {
                    Frame::Message(frame) => live.session.on_frame(&frame, now),
                    Frame::Garbage(why) => live.session.on_garbage(&why),
                }
                if live.session.out.close.is_some() {
                    break;
                }
                if live.session.out.document_count >= MAX_BATCH {
                    more = true;
                    break;
                }
            }
            live.session.tick(now);
        }));
        if processed.is_err() {
            (slot.log)(true, &format!("{}: panic while processing a message; disconnecting", slot.cfg.name));
            let _ = live.session.take_output();
            slot.disconnect(&mut live);
            return;
        }
        slot.flush(&mut live, false);
        if live.writer.is_none() {
            return;
        }
        drop(live);
        slot.wait_for_committer(stop);
    }
}

fn initiate(slot: Arc<Slot>, stop: Arc<AtomicBool>, _threads: Arc<Mutex<Vec<JoinHandle<()>>>>) {
    let address = format!("{}:{}", slot.cfg.host, slot.cfg.port);
    while !stop.load(Ordering::SeqCst) {
        let in_schedule = slot.lock().session.in_schedule(now_ms());
        let connected = if in_schedule {
            address
                .to_socket_addrs()
                .ok()
                .and_then(|mut addrs| addrs.next())
                .and_then(|addr| TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok())
        } else {
            None
        };
        if let Some(stream) = connected {
            if let Some(id) = slot.attach(&stream, true) {
                (slot.log)(false, &format!("{}: connected to {address}", slot.cfg.name));
                run(&slot, stream, FrameReader::default(), id, &stop);
            }
        }
        let until = now_ms() + slot.cfg.reconnect_interval_ms;
        while now_ms() < until && !stop.load(Ordering::SeqCst) {
            thread::sleep(POLL);
        }
    }
}
