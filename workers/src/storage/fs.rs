//! A local folder as tile storage. Each object is written to a temporary file beside its
//! final path and renamed into place, so a crash never leaves a half-written tile.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{check_key, StorageError, TileSink};

/// Stores objects as files under `root`.
#[derive(Debug, Clone)]
pub struct FsSink {
    root: PathBuf,
}

impl FsSink {
    /// A sink writing under `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FsSink { root: root.into() }
    }

    /// The folder objects are written under.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

impl TileSink for FsSink {
    fn put(&self, key: &str, bytes: &[u8], _content_type: &str) -> Result<(), StorageError> {
        check_key(key)?;
        let path = self.root.join(key);
        let io = |source| StorageError::Io {
            key: key.to_string(),
            source,
        };
        let dir = path.parent().unwrap_or(&self.root);
        fs::create_dir_all(dir).map_err(io)?;
        let mut temp = tempfile::Builder::new()
            .prefix(".partial-")
            .tempfile_in(dir)
            .map_err(io)?;
        temp.write_all(bytes).map_err(io)?;
        temp.persist(&path).map_err(|e| io(e.error))?;
        Ok(())
    }

    fn exists(&self, key: &str) -> Result<bool, StorageError> {
        check_key(key)?;
        Ok(self.root.join(key).is_file())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_nested_keys_and_refuses_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let sink = FsSink::new(dir.path());
        sink.put("image_files/3/0_1.jpg", b"abc", "image/jpeg").unwrap();
        assert!(sink.exists("image_files/3/0_1.jpg").unwrap());
        assert_eq!(fs::read(dir.path().join("image_files/3/0_1.jpg")).unwrap(), b"abc");
        assert!(!sink.exists("image_files/3/9_9.jpg").unwrap());
        for bad in ["../x", "/etc/passwd", "a//b", "a/./b", ""] {
            assert!(sink.put(bad, b"x", "text/plain").is_err(), "{bad}");
        }
        let leftovers = fs::read_dir(dir.path().join("image_files/3")).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary files are left behind");
    }
}
