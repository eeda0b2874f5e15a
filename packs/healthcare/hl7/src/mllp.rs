//! The MLLP listener: 0x0B <message> 0x1C 0x0D frames over TCP, one thread per connection (a
//! sender waits for each ACK, so a connection is sequential by nature), a maximum message size,
//! an idle timeout and a connection limit. Stopping it joins every thread it started.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

const START: u8 = 0x0B;
const END: u8 = 0x1C;
const CR: u8 = 0x0D;
/// How often blocked threads look at the stop flag.
const POLL: Duration = Duration::from_millis(100);

/// Limits of the listener.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_message_bytes: usize,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

/// What a frame turned out to be.
pub enum Frame<'a> {
    /// A whole message (the bytes between 0x0B and 0x1C 0x0D).
    Message(&'a [u8]),
    /// A message longer than the limit; its first bytes are kept to answer it.
    TooLarge { head: &'a [u8], size: usize },
}

/// Answers one frame; returns the bytes of the ACK (without framing), or None to send nothing.
/// Answers one frame with up to two messages (enhanced mode: accept, then application ACK),
/// written in one go.
pub type Handler = dyn Fn(Frame<'_>, &SocketAddr) -> crate::ack::Answers + Send + Sync;

/// Counters shown in health.
#[derive(Default)]
pub struct Stats {
    pub connections: AtomicUsize,
    pub accepted_total: AtomicU64,
    pub refused_connections: AtomicU64,
    pub framing_errors: AtomicU64,
}

pub struct Listener {
    pub address: SocketAddr,
    pub stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Listener {
    pub fn start(bind: &str, limits: Limits, handler: Arc<Handler>) -> io::Result<Listener> {
        let socket = TcpListener::bind(bind)?;
        socket.set_nonblocking(true)?;
        let address = socket.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(Stats::default());
        let (stop2, stats2) = (stop.clone(), stats.clone());
        let thread = thread::Builder::new()
            .name("mllp-accept".into())
            .spawn(move || accept_loop(socket, limits, handler, stop2, stats2))?;
        Ok(Listener { address, stats, stop, thread: Some(thread) })
    }

    /// Stops accepting, closes every connection and joins every thread.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop();
    }
}

fn accept_loop(socket: TcpListener, limits: Limits, handler: Arc<Handler>, stop: Arc<AtomicBool>, stats: Arc<Stats>) {
    let connections: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
    while !stop.load(Ordering::SeqCst) {
        match socket.accept() {
            Ok((stream, peer)) => {
                if stats.connections.load(Ordering::SeqCst) >= limits.max_connections {
                    stats.refused_connections.fetch_add(1, Ordering::Relaxed);
                    drop(stream); // the sender sees the close and retries later
                    continue;
                }
                stats.connections.fetch_add(1, Ordering::SeqCst);
                stats.accepted_total.fetch_add(1, Ordering::Relaxed);
                let (limits, handler, stop, conn_stats) = (limits.clone(), handler.clone(), stop.clone(), stats.clone());
                let spawned = thread::Builder::new().name("mllp-conn".into()).stack_size(256 * 1024).spawn(move || {
                    let _ = serve(stream, peer, &limits, &*handler, &stop, &conn_stats);
                    conn_stats.connections.fetch_sub(1, Ordering::SeqCst);
                });
                let mut list = connections.lock().unwrap_or_else(|e| e.into_inner());
                list.retain(|t| !t.is_finished());
                match spawned {
                    Ok(t) => list.push(t),
                    Err(_) => {
                        stats.connections.fetch_sub(1, Ordering::SeqCst);
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => thread::sleep(Duration::from_millis(5)),
            Err(_) => thread::sleep(Duration::from_millis(50)), // EMFILE and friends: back off
        }
    }
    let list = std::mem::take(&mut *connections.lock().unwrap_or_else(|e| e.into_inner()));
    for t in list {
        let _ = t.join();
    }
}

/// Keeps this many bytes of an oversized message: enough for its MSH.
const HEAD_KEPT: usize = 4096;

#[derive(PartialEq)]
enum State {
    /// Between frames: anything but 0x0B is junk.
    Outside,
    Inside,
    /// Saw 0x1C; a 0x0D ends the frame.
    Ending,
}

fn serve(mut stream: TcpStream, peer: SocketAddr, limits: &Limits, handler: &Handler, stop: &AtomicBool, stats: &Stats) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(POLL))?;
    let mut chunk = vec![0u8; 64 * 1024];
    let mut message: Vec<u8> = Vec::with_capacity(4096);
    let mut size = 0usize; // bytes of the current message, kept or not
    let mut state = State::Outside;
    let mut last_activity = Instant::now();
    loop {
        if stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        let n = match stream.read(&mut chunk) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted) => {
                if last_activity.elapsed() >= limits.idle_timeout {
                    return Ok(()); // idle: close, the sender reconnects when it has something
                }
                continue;
            }
            Err(e) => return Err(e),
        };
        last_activity = Instant::now();
        for &b in &chunk[..n] {
            match state {
                State::Outside => {
                    if b == START {
                        state = State::Inside;
                        message.clear();
                        size = 0;
                    } else if !b.is_ascii_whitespace() {
                        stats.framing_errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                State::Inside if b == END => state = State::Ending,
                State::Inside if b == START => {
                    // A new start block inside a message: the previous one was cut off.
                    stats.framing_errors.fetch_add(1, Ordering::Relaxed);
                    message.clear();
                    size = 0;
                }
                State::Inside => {
                    size += 1;
                    if size <= limits.max_message_bytes || message.len() < HEAD_KEPT {
                        message.push(b);
                    }
                }
                State::Ending if b == CR => {
                    state = State::Outside;
                    let frame = if size > limits.max_message_bytes {
                        Frame::TooLarge { head: &message[..message.len().min(HEAD_KEPT)], size }
                    } else {
                        Frame::Message(&message)
                    };
                    let answers = handler(frame, &peer);
                    let size: usize = answers.iter().flatten().map(|a| a.len() + 3).sum();
                    if size > 0 {
                        let mut reply = Vec::with_capacity(size);
                        for ack in answers.iter().flatten() {
                            reply.push(START);
                            reply.extend_from_slice(ack.as_bytes());
                            reply.extend_from_slice(&[END, CR]);
                        }
                        stream.write_all(&reply)?;
                    }
                    if message.capacity() > 1 << 20 {
                        message = Vec::with_capacity(4096); // one huge message must not pin its buffer
                    }
                }
                State::Ending => {
                    // 0x1C not followed by 0x0D: not a frame end; drop the frame.
                    stats.framing_errors.fetch_add(1, Ordering::Relaxed);
                    state = if b == START { State::Inside } else { State::Outside };
                    message.clear();
                    size = 0;
                }
            }
        }
    }
}
