//! An in-memory sink for tests.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::{check_key, StorageError, TileSink};

/// Keeps every object in a map.
#[derive(Debug, Default)]
pub struct MemorySink {
    objects: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl MemorySink {
    /// A copy of everything stored, by key.
    pub fn objects(&self) -> BTreeMap<String, Vec<u8>> {
        self.objects.lock().map(|o| o.clone()).unwrap_or_default()
    }
}

impl TileSink for MemorySink {
    fn put(&self, key: &str, bytes: &[u8], _content_type: &str) -> Result<(), StorageError> {
        check_key(key)?;
        if let Ok(mut objects) = self.objects.lock() {
            objects.insert(key.to_string(), bytes.to_vec());
        }
        Ok(())
    }

    fn exists(&self, key: &str) -> Result<bool, StorageError> {
        Ok(self
            .objects
            .lock()
            .map(|o| o.contains_key(key))
            .unwrap_or(false))
    }
}
