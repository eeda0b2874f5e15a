//! The messages a session sent, kept for resend requests. In the durable store they are grouped
//! in blocks of 64 consecutive sequence numbers, one state value per block (the messages back to
//! back, FIX being self-delimiting): a batch of 100 answers costs two or three rows, not a hundred,
//! which is what lets every sent message be committed before it goes out at wire speed.

use std::collections::{BTreeMap, BTreeSet};

use crate::store::Persistence;
use crate::wire::{self, Frame, FrameReader};

const BLOCK: u64 = 64;
/// Recent messages kept in memory; older ones are read back from their block.
const CACHE: usize = 10_000;

pub struct SentMessages {
    name: String,
    persist: bool,
    cache: BTreeMap<u64, Vec<u8>>,
    dirty: BTreeSet<u64>,
}

fn block_key(name: &str, block: u64) -> String {
    format!("{name}.out.{block}")
}

/// The messages of one stored block, by sequence number.
fn split_block(text: &str) -> BTreeMap<u64, Vec<u8>> {
    let mut reader = FrameReader::default();
    reader.push(text.as_bytes());
    let mut out = BTreeMap::new();
    while let Some(frame) = reader.next_frame() {
        if let Frame::Message(frame) = frame {
            if let Some(seq) = wire::peek(&frame, "34").and_then(|s| s.parse().ok()) {
                out.insert(seq, frame);
            }
        }
    }
    out
}

impl SentMessages {
    pub fn new(name: &str, persist: bool) -> SentMessages {
        SentMessages { name: name.to_owned(), persist, cache: BTreeMap::new(), dirty: BTreeSet::new() }
    }

    /// Sequence numbers start over: what was sent before is no longer asked for.
    pub fn clear(&mut self) {
        self.cache.clear();
        self.dirty.clear();
    }

    pub fn insert(&mut self, seq: u64, bytes: Vec<u8>) {
        self.cache.insert(seq, bytes);
        if self.persist {
            self.dirty.insert(seq / BLOCK);
            while self.cache.len() > CACHE {
                let (&oldest, _) = self.cache.first_key_value().expect("not empty");
                if self.dirty.contains(&(oldest / BLOCK)) {
                    break;
                }
                self.cache.pop_first();
            }
        } else if self.cache.len() > CACHE * 100 {
            self.cache.pop_first(); // memory only: keep a long history, not an unbounded one
        }
    }

    /// Message `seq`, when this session sent it (`seq < next_sender`) and still has it.
    pub fn get(&self, seq: u64, next_sender: u64, store: &dyn Persistence) -> Option<Vec<u8>> {
        if seq >= next_sender {
            return None;
        }
        if let Some(bytes) = self.cache.get(&seq) {
            return Some(bytes.clone());
        }
        if !self.persist {
            return None;
        }
        let text = store.load(&block_key(&self.name, seq / BLOCK)).ok().flatten()?;
        split_block(&text).remove(&seq)
    }

    /// The state writes for the blocks changed since the last call. A block partly sent before
    /// a restart is completed from the store first; of it only numbers below the first new one
    /// are kept (anything above is from before a sequence reset).
    pub fn take_writes(&mut self, store: &dyn Persistence) -> Vec<(String, String)> {
        let mut writes = Vec::new();
        for block in std::mem::take(&mut self.dirty) {
            let (low, high) = (block * BLOCK, block * BLOCK + BLOCK);
            let first_new = self.cache.range(low..high).next().map(|(s, _)| *s).unwrap_or(low);
            if first_new > low && !self.cache.contains_key(&low) {
                if let Ok(Some(text)) = store.load(&block_key(&self.name, block)) {
                    for (seq, bytes) in split_block(&text).into_iter().filter(|(s, _)| *s < first_new) {
                        self.cache.insert(seq, bytes);
                    }
                }
            }
            let mut value = Vec::new();
            for (_, bytes) in self.cache.range(low..high) {
                value.extend_from_slice(bytes);
            }
            let value = String::from_utf8(value).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
            writes.push((block_key(&self.name, block), value));
        }
        writes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Field;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Map(Mutex<BTreeMap<String, String>>);

    impl Persistence for Map {
        fn load(&self, key: &str) -> Result<Option<String>, String> {
            Ok(self.0.lock().unwrap().get(key).cloned())
        }
        fn commit(&self, _: &str, state: &[(String, String)]) -> Result<(), String> {
            self.0.lock().unwrap().extend(state.iter().cloned());
            Ok(())
        }
    }

    fn msg(seq: u64) -> Vec<u8> {
        wire::encode("FIX.4.4", &[Field::new(35, "D"), Field::new(34, seq.to_string())])
    }

    #[test]
    fn blocks_survive_a_restart_and_a_reset() {
        let store = Map::default();
        let mut sent = SentMessages::new("S", true);
        for seq in 1..=70 {
            sent.insert(seq, msg(seq));
        }
        store.commit("", &sent.take_writes(&store)).unwrap();
        let mut restarted = SentMessages::new("S", true);
        assert_eq!(restarted.get(5, 71, &store), Some(msg(5)));
        assert_eq!(restarted.get(70, 71, &store), Some(msg(70)));
        assert_eq!(restarted.get(71, 71, &store), None);
        restarted.insert(71, msg(71));
        store.commit("", &restarted.take_writes(&store)).unwrap();
        assert_eq!(split_block(&store.load("S.out.1").unwrap().unwrap()).len(), 8); // 64..=71
        restarted.clear(); // sequence reset: 1 and 2 again, the old 3..63 must not come back
        restarted.insert(1, msg(1));
        restarted.insert(2, msg(2));
        store.commit("", &restarted.take_writes(&store)).unwrap();
        assert_eq!(split_block(&store.load("S.out.0").unwrap().unwrap()).len(), 2);
    }
}
