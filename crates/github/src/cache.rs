//! A small bounded LRU map: the reader keeps the last ETag and body per URL in one, so any
//! repeated GET becomes a conditional request (a 304 costs no quota), and the discovery memo in
//! another.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

pub(crate) struct Lru<V> {
    capacity: usize,
    tick: u64,
    entries: HashMap<String, (u64, Arc<V>)>,
    order: BTreeMap<u64, String>,
}

impl<V> Lru<V> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            tick: 0,
            entries: HashMap::new(),
            order: BTreeMap::new(),
        }
    }

    pub(crate) fn get(&mut self, key: &str) -> Option<Arc<V>> {
        let (old_tick, value) = {
            let (tick, value) = self.entries.get(key)?;
            (*tick, value.clone())
        };
        self.tick += 1;
        self.order.remove(&old_tick);
        self.order.insert(self.tick, key.to_string());
        if let Some(entry) = self.entries.get_mut(key) {
            entry.0 = self.tick;
        }
        Some(value)
    }

    pub(crate) fn put(&mut self, key: String, value: V) {
        self.put_shared(key, Arc::new(value));
    }

    pub(crate) fn put_shared(&mut self, key: String, value: Arc<V>) {
        if self.capacity == 0 {
            return;
        }
        self.remove(&key);
        while self.entries.len() >= self.capacity {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            self.entries.remove(&oldest);
        }
        self.tick += 1;
        self.order.insert(self.tick, key.clone());
        self.entries.insert(key, (self.tick, value));
    }

    pub(crate) fn remove(&mut self, key: &str) {
        if let Some((tick, _)) = self.entries.remove(key) {
            self.order.remove(&tick);
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_the_least_recently_used() {
        let mut lru = Lru::new(2);
        lru.put("a".into(), 1);
        lru.put("b".into(), 2);
        assert_eq!(lru.get("a").as_deref(), Some(&1));
        lru.put("c".into(), 3);
        assert_eq!(lru.get("b"), None, "b was the least recently used");
        assert_eq!(lru.get("a").as_deref(), Some(&1));
        assert_eq!(lru.get("c").as_deref(), Some(&3));
        lru.put("c".into(), 4);
        assert_eq!(lru.len(), 2);
        assert_eq!(lru.get("c").as_deref(), Some(&4));
        lru.remove("a");
        assert_eq!(lru.len(), 1);
        let mut none = Lru::new(0);
        none.put("x".into(), 1);
        assert_eq!(none.get("x"), None);
    }
}
