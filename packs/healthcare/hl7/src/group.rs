//! Group commit across connections: each connection thread hands its document over and waits; one
//! of the waiting threads (the leader) commits everything queued in one `Host::commit` (one round
//! trip, one transaction, one fsync) and wakes the others. While a commit is in flight the next
//! documents queue up, so the batch grows with the load and an idle gateway commits at once.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use backworks_plugin_sdk::{PluginResult, Value};

/// Most documents one commit carries.
const MAX_BATCH: usize = 256;

enum Turn {
    Waiting,
    /// Commit the next batch (the previous leader passed it on).
    Lead,
    Done(Result<i64, String>),
}

struct Slot {
    turn: Mutex<Turn>,
    ready: Condvar,
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, Turn> {
        self.turn.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set(&self, turn: Turn) {
        *self.lock() = turn;
        self.ready.notify_one();
    }
}

#[derive(Default)]
struct Queue {
    leading: bool,
    pending: Vec<(Value, Arc<Slot>)>,
}

/// Commits documents of many threads together.
#[derive(Default)]
pub struct GroupCommit {
    queue: Mutex<Queue>,
}

/// Commits a batch and returns the ids in order (`Host::commit`, or a stand-in in tests).
pub type CommitFn<'a> = &'a dyn Fn(&[Value]) -> PluginResult<Vec<i64>>;

impl GroupCommit {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Returns once `document` is committed (its id) or the commit failed (why).
    pub fn store(&self, document: Value, commit: CommitFn<'_>) -> Result<i64, String> {
        let slot = Arc::new(Slot { turn: Mutex::new(Turn::Waiting), ready: Condvar::new() });
        let lead_now = {
            let mut queue = self.lock();
            queue.pending.push((document, slot.clone()));
            !std::mem::replace(&mut queue.leading, true)
        };
        if !lead_now {
            let mut turn = slot.lock();
            loop {
                match std::mem::replace(&mut *turn, Turn::Waiting) {
                    Turn::Done(result) => return result,
                    Turn::Lead => break,
                    Turn::Waiting => turn = slot.ready.wait(turn).unwrap_or_else(|e| e.into_inner()),
                }
            }
        }
        self.lead(commit);
        let turn = std::mem::replace(&mut *slot.lock(), Turn::Waiting);
        match turn {
            Turn::Done(result) => result,
            _ => Err("group commit lost the document (a bug)".into()), // the leader's own is always in its batch
        }
    }

    /// Commits one batch (the leader's own document is in it: it was first in the queue), then
    /// passes the lead to the first thread still waiting.
    fn lead(&self, commit: CommitFn<'_>) {
        let batch: Vec<(Value, Arc<Slot>)> = {
            let mut queue = self.lock();
            let n = queue.pending.len().min(MAX_BATCH);
            queue.pending.drain(..n).collect()
        };
        let (documents, slots): (Vec<Value>, Vec<Arc<Slot>>) = batch.into_iter().unzip();
        let result = commit(&documents);
        let result = match result {
            Ok(ids) if ids.len() == slots.len() => Ok(ids),
            Ok(ids) => Err(format!("commit answered {} ids for {} documents", ids.len(), slots.len())),
            Err(e) => Err(e.to_string()),
        };
        for (i, slot) in slots.iter().enumerate() {
            slot.set(Turn::Done(result.as_ref().map(|ids| ids[i]).map_err(Clone::clone)));
        }
        let mut queue = self.lock();
        match queue.pending.first() {
            Some((_, next)) => next.set(Turn::Lead),
            None => queue.leading = false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use backworks_plugin_sdk::{json, PluginError};
    use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

    #[test]
    fn many_threads_get_their_own_ids_in_fewer_commits() {
        let group = Arc::new(GroupCommit::default());
        let next = Arc::new(AtomicI64::new(1));
        let commits = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..16)
            .map(|t| {
                let (group, next, commits) = (group.clone(), next.clone(), commits.clone());
                std::thread::spawn(move || {
                    let mut mine = Vec::new();
                    for i in 0..200 {
                        let commit = |docs: &[Value]| -> PluginResult<Vec<i64>> {
                            commits.fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(std::time::Duration::from_micros(200)); // an fsync
                            Ok(docs.iter().map(|d| d["n"].as_i64().unwrap() * 1000 + next.fetch_add(1, Ordering::SeqCst) % 1000).collect())
                        };
                        let id = group.store(json!({"n": t * 1000 + i}), &commit).unwrap();
                        mine.push((t * 1000 + i, id));
                    }
                    mine
                })
            })
            .collect();
        let mut seen = 0;
        for t in threads {
            for (n, id) in t.join().unwrap() {
                assert_eq!(id / 1000, n, "a thread got another thread's id");
                seen += 1;
            }
        }
        assert_eq!(seen, 3200);
        assert!(commits.load(Ordering::SeqCst) < 3200, "no batching: {} commits", commits.load(Ordering::SeqCst));
    }

    #[test]
    fn a_failed_commit_fails_every_document_of_its_batch() {
        let group = GroupCommit::default();
        let fail = |_: &[Value]| -> PluginResult<Vec<i64>> { Err(PluginError::Host("disk full".into())) };
        assert!(group.store(json!({}), &fail).unwrap_err().contains("disk full"));
        let ok = |docs: &[Value]| -> PluginResult<Vec<i64>> { Ok((0..docs.len() as i64).collect()) };
        assert_eq!(group.store(json!({}), &ok), Ok(0)); // the lead was released after the failure
    }
}
