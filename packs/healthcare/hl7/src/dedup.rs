//! Resend detection: a message with the same sender (MSH-3, MSH-4) and MSH-10 within the window
//! is acknowledged again but not stored twice. The keys live in memory and are rebuilt at start
//! from the documents the buffer holds (their `meta.dedup_key`), so a resend after a crash
//! between commit and ACK is recognised too. Two connections delivering the same message at
//! once: the second waits for the first's commit and then counts as a resend.

use std::collections::{HashMap, VecDeque};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use crate::clock;

enum Entry {
    InFlight,
    Stored { id: i64, at: u64 },
}

#[derive(Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    /// (stored at, key) oldest first, to expire entries past the window.
    order: VecDeque<(u64, String)>,
}

pub struct Dedup {
    window_ms: u64,
    inner: Mutex<Inner>,
    settled: Condvar,
}

/// What `begin` found.
pub enum Begin {
    /// Already stored: acknowledge again, store nothing.
    Duplicate { id: i64 },
    /// New: store it, then call `finish`.
    Fresh,
}

impl Dedup {
    pub fn new(window: Duration) -> Dedup {
        Dedup { window_ms: window.as_millis() as u64, inner: Mutex::default(), settled: Condvar::new() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Remembers a key stored earlier (at `stored_at_ms`), e.g. read back from the buffer.
    pub fn remember(&self, key: String, id: i64, stored_at_ms: u64) {
        if self.window_ms == 0 || clock::unix_millis().saturating_sub(stored_at_ms) > self.window_ms {
            return;
        }
        let mut inner = self.lock();
        inner.order.push_back((stored_at_ms, key.clone()));
        inner.entries.insert(key, Entry::Stored { id, at: stored_at_ms });
    }

    pub fn begin(&self, key: &str) -> Begin {
        let mut inner = self.lock();
        loop {
            match inner.entries.get(key) {
                Some(Entry::Stored { id, .. }) => return Begin::Duplicate { id: *id },
                Some(Entry::InFlight) => inner = self.settled.wait(inner).unwrap_or_else(|e| e.into_inner()),
                None => {
                    inner.entries.insert(key.to_owned(), Entry::InFlight);
                    return Begin::Fresh;
                }
            }
        }
    }

    /// Ends what `begin` started: `Some(id)` once committed, `None` when it was not stored.
    pub fn finish(&self, key: &str, stored: Option<i64>) {
        let now = clock::unix_millis();
        let mut inner = self.lock();
        match stored {
            Some(id) if self.window_ms > 0 => {
                inner.entries.insert(key.to_owned(), Entry::Stored { id, at: now });
                inner.order.push_back((now, key.to_owned()));
            }
            _ => {
                inner.entries.remove(key);
            }
        }
        while let Some((at, _)) = inner.order.front() {
            if now.saturating_sub(*at) <= self.window_ms {
                break;
            }
            let (at, old) = inner.order.pop_front().expect("front exists");
            if matches!(inner.entries.get(&old), Some(Entry::Stored { at: stored, .. }) if *stored == at) {
                inner.entries.remove(&old);
            }
        }
        drop(inner);
        self.settled.notify_all();
    }

    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resend_is_a_duplicate_and_failure_forgets() {
        let d = Dedup::new(Duration::from_secs(60));
        assert!(matches!(d.begin("a"), Begin::Fresh));
        d.finish("a", None);
        assert!(matches!(d.begin("a"), Begin::Fresh));
        d.finish("a", Some(7));
        assert!(matches!(d.begin("a"), Begin::Duplicate { id: 7 }));
        d.remember("b".into(), 9, clock::unix_millis());
        assert!(matches!(d.begin("b"), Begin::Duplicate { id: 9 }));
        d.remember("old".into(), 1, 0);
        assert!(matches!(d.begin("old"), Begin::Fresh));
    }
}
