//! A local folder as tile storage. No reader ever sees a half-written object: on Linux a
//! file is written unnamed (`O_TMPFILE`) and linked into place once complete, which costs
//! one directory operation; elsewhere, or when replacing a file, it is written to a
//! temporary name and renamed.

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
        if let Err(e) = write_linked(dir, &path, bytes) {
            if e.kind() == std::io::ErrorKind::NotFound {
                fs::create_dir_all(dir).map_err(io)?;
                if write_linked(dir, &path, bytes).is_ok() {
                    return Ok(());
                }
            }
            let mut temp = tempfile::Builder::new()
                .prefix(".partial-")
                .tempfile_in(dir)
                .map_err(io)?;
            temp.write_all(bytes).map_err(io)?;
            temp.persist(&path).map_err(|e| io(e.error))?;
        }
        Ok(())
    }

    fn exists(&self, key: &str) -> Result<bool, StorageError> {
        check_key(key)?;
        Ok(self.root.join(key).is_file())
    }
}

/// Writes `bytes` to an unnamed file in `dir` and links it as `path`. Fails (and the
/// caller falls back) when `path` exists or the filesystem has no `O_TMPFILE`.
#[cfg(target_os = "linux")]
fn write_linked(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::ffi::OsStrExt;

    let c_dir = CString::new(dir.as_os_str().as_bytes())?;
    let c_path = CString::new(path.as_os_str().as_bytes())?;
    // SAFETY: a plain open(2) of a NUL-terminated path; the descriptor is owned at once.
    let fd = unsafe {
        libc::open(
            c_dir.as_ptr(),
            libc::O_TMPFILE | libc::O_WRONLY | libc::O_CLOEXEC,
            0o644,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor nobody else owns.
    let mut file = fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    file.write_all(bytes)?;
    let proc_path = CString::new(format!("/proc/self/fd/{}", file.as_raw_fd()))?;
    // SAFETY: linkat(2) on NUL-terminated paths; following the /proc link names the
    // unnamed inode, which works without CAP_DAC_READ_SEARCH.
    let linked = unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            proc_path.as_ptr(),
            libc::AT_FDCWD,
            c_path.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    };
    if linked != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn write_linked(_dir: &Path, _path: &Path, _bytes: &[u8]) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_nested_keys_and_refuses_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let sink = FsSink::new(dir.path());
        sink.put("image_files/3/0_1.jpg", b"abc", "image/jpeg")
            .unwrap();
        assert!(sink.exists("image_files/3/0_1.jpg").unwrap());
        assert_eq!(
            fs::read(dir.path().join("image_files/3/0_1.jpg")).unwrap(),
            b"abc"
        );
        // Replacing goes through the rename path.
        sink.put("image_files/3/0_1.jpg", b"defg", "image/jpeg")
            .unwrap();
        assert_eq!(
            fs::read(dir.path().join("image_files/3/0_1.jpg")).unwrap(),
            b"defg"
        );
        assert!(!sink.exists("image_files/3/9_9.jpg").unwrap());
        for bad in ["../x", "/etc/passwd", "a//b", "a/./b", ""] {
            assert!(sink.put(bad, b"x", "text/plain").is_err(), "{bad}");
        }
        let leftovers = fs::read_dir(dir.path().join("image_files/3"))
            .unwrap()
            .count();
        assert_eq!(leftovers, 1, "no temporary files are left behind");
    }
}
