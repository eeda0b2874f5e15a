//! Sockets and threads: one listener per acceptor port, one thread per connection, one
//! connecting thread per initiator session. A connection thread reads what has arrived, lets
//! the session process every complete message, commits the batch's documents and state in one
//! host call, and only then writes the answers: a message counts as received, and a sent
//! message as sent, once it is durable.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::config::{Role, SessionConfig};
use crate::session::Session;
use crate::store::Persistence;
use crate::time::now_ms;
use crate::wire::{self, Frame, FrameReader};

const POLL: Duration = Duration::from_millis(20);

pub type Logger = Arc<dyn Fn(bool, &str) + Send + Sync>;

/// A session and the connection it currently has, behind one lock: what the session sends is
/// written in sequence-number order, whether it comes from the socket, a timer or the API.
pub struct Live {
    pub session: Session,
    writer: Option<TcpStream>,
    connection: u64,
    pub peer: Option<String>,
}

pub struct Slot {
    pub cfg: Arc<SessionConfig>,
    pub live: Mutex<Live>,
    log: Logger,
}

impl Slot {
    pub fn lock(&self) -> MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Commits what the session produced, then sends it; closes the connection when told to.
    pub fn flush(&self, live: &mut Live) -> Result<(), String> {
        let out = live.session.take_output();
        for event in &out.events {
            (self.log)(false, event);
        }
        if !out.documents.is_empty() || !out.state.is_empty() {
            if let Err(why) = live.session.store.commit(&out.documents, &out.state) {
                (self.log)(true, &format!("{}: commit failed, nothing of the batch was sent: {why}", self.cfg.name));
                let _ = live.session.on_commit_failed(&why);
                let _ = live.session.take_output();
                self.disconnect(live);
                return Err(why);
            }
        }
        live.session.store.emit(&out.readings);
        if let Some(writer) = live.writer.as_mut() {
            if !out.bytes.is_empty() && writer.write_all(&out.bytes).is_err() {
                self.disconnect(live);
                return Ok(());
            }
        }
        if out.close.is_some() {
            self.disconnect(live);
        }
        Ok(())
    }

    fn disconnect(&self, live: &mut Live) {
        if let Some(writer) = live.writer.take() {
            let _ = writer.shutdown(Shutdown::Both);
        }
        live.peer = None;
        live.session.on_disconnected();
    }

    /// Makes `stream` this session's connection; refused while another one is up.
    fn attach(&self, stream: &TcpStream, initiate: bool) -> Option<u64> {
        let mut live = self.lock();
        if live.writer.is_some() {
            return None;
        }
        live.writer = Some(stream.try_clone().ok()?);
        live.connection += 1;
        live.peer = stream.peer_addr().ok().map(|a| a.to_string());
        live.session.on_connected(now_ms(), initiate);
        let id = live.connection;
        let _ = self.flush(&mut live);
        Some(id)
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
        for cfg in configs {
            let cfg = Arc::new(cfg);
            let session = Session::new(cfg.clone(), store.clone())?;
            let live = Live { session, writer: None, connection: 0, peer: None };
            slots.push(Arc::new(Slot { cfg, live: Mutex::new(live), log: log.clone() }));
        }
        let mut engine = Engine { slots, stop: Arc::new(AtomicBool::new(false)), threads: Arc::default(), listening: HashMap::new() };
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
            let mut live = slot.lock();
            live.session.logout("shutting down", now_ms());
            let _ = slot.flush(&mut live);
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
        let _ = slot.flush(&mut live);
    }
    run(&slot, stream, reader, id, &stop);
}

/// Reads, processes, commits and writes until the connection ends or the plugin stops.
fn run(slot: &Slot, mut stream: TcpStream, mut reader: FrameReader, id: u64, stop: &AtomicBool) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(POLL));
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let ended = match stream.read(&mut buf) {
            Ok(0) => true,
            Ok(n) => {
                reader.push(&buf[..n]);
                false
            }
            Err(e) => !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted),
        };
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
            }
            live.session.tick(now);
        }));
        if processed.is_err() {
            (slot.log)(true, &format!("{}: panic while processing a message; disconnecting", slot.cfg.name));
            let _ = live.session.take_output();
            slot.disconnect(&mut live);
            return;
        }
        let _ = slot.flush(&mut live);
        if live.writer.is_none() {
            return;
        }
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
