//! Where originals and tiles live in the embedded mode: a folder per picture under
//! `DATA_DIR/objects/`. Keys come from `hugepic_workers::pyramid::layout`; this is the
//! only place they become paths, and every key is checked before it does.

use std::path::{Path, PathBuf};

use hugepic_workers::FsSink;

/// Key of a picture's original file.
pub const ORIGINAL_KEY: &str = "original";

/// The local object folder.
#[derive(Debug, Clone)]
pub struct LocalObjects {
    root: PathBuf,
}

impl LocalObjects {
    /// Objects under `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalObjects { root: root.into() }
    }

    /// The folder of one picture.
    pub fn picture_dir(&self, picture_id: &str) -> Option<PathBuf> {
        valid_segment(picture_id).then(|| self.root.join(picture_id))
    }

    /// A sink writing a picture's pyramid.
    pub fn sink(&self, picture_id: &str) -> Option<FsSink> {
        self.picture_dir(picture_id).map(FsSink::new)
    }

    /// The file of `key` in a picture, if the key is well-formed (no `..`, no absolute paths).
    pub fn path(&self, picture_id: &str, key: &str) -> Option<PathBuf> {
        let dir = self.picture_dir(picture_id)?;
        key.split('/').all(valid_segment).then(|| dir.join(key))
    }

    /// Removes every object of a picture.
    pub async fn delete_picture(&self, picture_id: &str) -> std::io::Result<()> {
        let Some(dir) = self.picture_dir(picture_id) else {
            return Ok(());
        };
        match tokio::fs::remove_dir_all(&dir).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Whether the folder can be written (for `/readyz`).
    pub async fn check(&self) -> std::io::Result<()> {
        tokio::fs::create_dir_all(&self.root).await?;
        let probe = self.root.join(".ready-probe");
        tokio::fs::write(&probe, b"ok").await?;
        tokio::fs::remove_file(&probe).await
    }

    /// The root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

/// One path segment we are willing to touch.
fn valid_segment(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.len() <= 200
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.,!^".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_escape() {
        let objects = LocalObjects::new("/data/objects");
        assert_eq!(
            objects.path("abc", "image_files/3/0_1.jpg"),
            Some(PathBuf::from("/data/objects/abc/image_files/3/0_1.jpg"))
        );
        assert!(objects
            .path("abc", "iiif/0,0,256,256/256,256/0/default.jpg")
            .is_some());
        for bad in ["../x", "a/../../b", "/etc/passwd", "a//b", "a/%2e%2e/b"] {
            assert_eq!(objects.path("abc", bad), None, "{bad}");
        }
        assert_eq!(objects.path("..", "x"), None);
    }
}
