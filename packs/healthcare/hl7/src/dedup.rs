//! Resends and conflicts. A resend is the same message again: the same sender (MSH-3, MSH-4),
//! MSH-10 **and** content (its hash); it is answered as before and not stored twice. The same
//! control id with other content is a conflict: the caller stores it as one and says so.
//! The keys live in memory and are rebuilt at start from the documents the buffer holds (their
//! `meta.dedup_key`, `meta.content_hash` and status), so a resend after a crash between commit
//! and ACK is recognised too. Two connections delivering the same message at once: the second
//! waits for the first's commit and then counts as a resend.

use std::collections::{HashMap, VecDeque};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use crate::clock;

/// FNV-1a (64 bit) of the message with its segment terminators normalised (CR, LF or CRLF) and
/// trailing blank lines dropped: a resend whose file was saved on another OS is still a resend.
pub fn content_hash(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |b: u8| hash = (hash ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    let body = text.trim_start_matches('\u{feff}').trim_end_matches(['\r', '\n']);
    let mut bytes = body.bytes().peekable();
    while let Some(b) = bytes.next() {
        match b {
            b'\r' if bytes.peek() == Some(&b'\n') => {}
            b'\n' => feed(b'\r'),
            _ => feed(b),
        }
    }
    hash
}

enum State {
    InFlight,
    Stored { id: i64, status: String, at: u64 },
}

struct Variant {
    hash: u64,
    state: State,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<String, Vec<Variant>>,
    /// (stored at, key, hash) oldest first, to expire entries past the window.
    order: VecDeque<(u64, String, u64)>,
}

pub struct Dedup {
    window_ms: u64,
    inner: Mutex<Inner>,
    settled: Condvar,
}

/// What `begin` found.
#[derive(Debug, PartialEq, Eq)]
pub enum Begin {
    /// This content was stored already (document `id`, with `status`): answer as before.
    Resend { id: i64, status: String },
    /// New content: store it, then call `finish`. `conflict_with`: the control id was used for
    /// other content (the first such document, or 0 while that one is still being stored).
    Fresh { conflict_with: Option<i64> },
}

impl Dedup {
    pub fn new(window: Duration) -> Dedup {
        Dedup { window_ms: window.as_millis() as u64, inner: Mutex::default(), settled: Condvar::new() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Remembers a document stored earlier (at `stored_at_ms`), e.g. read back from the buffer.
    pub fn remember(&self, key: String, hash: u64, id: i64, status: String, stored_at_ms: u64) {
        if self.window_ms == 0 || clock::unix_millis().saturating_sub(stored_at_ms) > self.window_ms {
            return;
        }
        let mut inner = self.lock();
        inner.order.push_back((stored_at_ms, key.clone(), hash));
        let variants = inner.entries.entry(key).or_default();
        variants.retain(|v| v.hash != hash);
        variants.push(Variant { hash, state: State::Stored { id, status, at: stored_at_ms } });
    }

    pub fn begin(&self, key: &str, hash: u64) -> Begin {
        let mut inner = self.lock();
        loop {
            let variants = inner.entries.get(key);
            match variants.and_then(|vs| vs.iter().find(|v| v.hash == hash)).map(|v| &v.state) {
                Some(State::Stored { id, status, .. }) => return Begin::Resend { id: *id, status: status.clone() },
                Some(State::InFlight) => inner = self.settled.wait(inner).unwrap_or_else(|e| e.into_inner()),
                None => {
                    let conflict_with = variants.and_then(|vs| vs.first()).map(|v| match v.state {
                        State::Stored { id, .. } => id,
                        State::InFlight => 0,
                    });
                    inner.entries.entry(key.to_owned()).or_default().push(Variant { hash, state: State::InFlight });
                    return Begin::Fresh { conflict_with };
                }
            }
        }
    }

    /// Ends what `begin` started: `Some((id, status))` once committed, `None` when not stored.
    pub fn finish(&self, key: &str, hash: u64, stored: Option<(i64, &str)>) {
        let now = clock::unix_millis();
        let mut inner = self.lock();
        let keep = self.window_ms > 0;
        if let Some(variants) = inner.entries.get_mut(key) {
            match stored {
                Some((id, status)) if keep => {
                    if let Some(v) = variants.iter_mut().find(|v| v.hash == hash) {
                        v.state = State::Stored { id, status: status.to_owned(), at: now };
                    }
                }
                _ => variants.retain(|v| v.hash != hash),
            }
            if variants.is_empty() {
                inner.entries.remove(key);
            }
        }
        if stored.is_some() && keep {
            inner.order.push_back((now, key.to_owned(), hash));
        }
        while let Some((at, _, _)) = inner.order.front() {
            if now.saturating_sub(*at) <= self.window_ms {
                break;
            }
            let (at, old, old_hash) = inner.order.pop_front().expect("front exists");
            if let Some(variants) = inner.entries.get_mut(&old) {
                variants.retain(|v| !(v.hash == old_hash && matches!(v.state, State::Stored { at: stored, .. } if stored == at)));
                if variants.is_empty() {
                    inner.entries.remove(&old);
                }
            }
        }
        drop(inner);
        self.settled.notify_all();
    }

    /// Control ids remembered (each with one or more contents).
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resend_conflict_and_failure() {
        let d = Dedup::new(Duration::from_secs(60));
        assert_eq!(d.begin("a", 1), Begin::Fresh { conflict_with: None });
        d.finish("a", 1, None);
        assert_eq!(d.begin("a", 1), Begin::Fresh { conflict_with: None });
        d.finish("a", 1, Some((7, "received")));
        assert_eq!(d.begin("a", 1), Begin::Resend { id: 7, status: "received".into() });
        // Same control id, other content: a conflict, itself recognised when resent.
        assert_eq!(d.begin("a", 2), Begin::Fresh { conflict_with: Some(7) });
        d.finish("a", 2, Some((8, "conflict")));
        assert_eq!(d.begin("a", 2), Begin::Resend { id: 8, status: "conflict".into() });
        d.remember("b".into(), 5, 9, "not_mapped".into(), clock::unix_millis());
        assert_eq!(d.begin("b", 5), Begin::Resend { id: 9, status: "not_mapped".into() });
        d.remember("old".into(), 5, 1, "received".into(), 0);
        assert_eq!(d.begin("old", 5), Begin::Fresh { conflict_with: None });
    }

    #[test]
    fn hash_ignores_line_endings_only() {
        assert_eq!(content_hash("MSH|a\r\nPID|1\r\n"), content_hash("MSH|a\rPID|1"));
        assert_eq!(content_hash("\u{feff}MSH|a\nPID|1\n"), content_hash("MSH|a\rPID|1"));
        assert_ne!(content_hash("MSH|a\rPID|1"), content_hash("MSH|a\rPID|2"));
    }
}
