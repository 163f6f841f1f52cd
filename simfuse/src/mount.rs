//! [`Mounted`]: a mount that is undone on every path out of its scope, and
//! the mount table look-ups that prove it.

use std::path::{Path, PathBuf};

use engines::fs::SimFs;
use fuser::{BackgroundSession, Config, MountOption};

use crate::{Error, SimFuse};

/// Source name of every mount this crate makes (the first field after `-`
/// in `/proc/self/mountinfo` is `fuse`, the second is this).
pub const FS_NAME: &str = "simfuse";

/// Whether FUSE mounts can be made here: `/dev/fuse` exists and opens.
/// The error says why not.
pub fn fuse_available() -> Result<(), Error> {
    let dev = Path::new("/dev/fuse");
    if !dev.exists() {
        return Err(Error::Unavailable(
            "/dev/fuse does not exist (load the fuse module, or give the container the device)"
                .into(),
        ));
    }
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(dev)
        .map(drop)
        .map_err(|e| Error::Unavailable(format!("cannot open /dev/fuse: {e}")))
}

/// A [`SimFs`] mounted at a directory. Dropping it unmounts (lazily, if a
/// plain unmount is refused), so an error, a panic or an early return never
/// leaves the mount behind; [`Mounted::unmount`] does the same and reports.
#[derive(Debug)]
pub struct Mounted {
    session: Option<BackgroundSession>,
    path: PathBuf,
}

impl Mounted {
    /// Mounts `sim` at `mountpoint` (an existing, empty directory).
    pub fn mount(sim: SimFs, mountpoint: &Path) -> Result<Mounted, Error> {
        fuse_available()?;
        let path = mountpoint.canonicalize().map_err(|source| Error::Mount {
            path: mountpoint.to_path_buf(),
            source,
        })?;
        let mut config = Config::default();
        config.mount_options = vec![
            MountOption::FSName(FS_NAME.into()),
            MountOption::Subtype(FS_NAME.into()),
            MountOption::NoAtime,
        ];
        let session = fuser::spawn_mount(SimFuse::new(sim), &path, &config).map_err(|source| {
            Error::Mount {
                path: path.clone(),
                source,
            }
        })?;
        Ok(Mounted {
            session: Some(session),
            path,
        })
    }

    /// The mount point.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Unmounts and waits for the serving thread. Every process using the
    /// mount must have exited; if the kernel still refuses, the mount is
    /// detached lazily (`umount2(MNT_DETACH)`) and that is an error only if
    /// the mount is still listed afterwards.
    pub fn unmount(mut self) -> Result<(), Error> {
        self.teardown(true)
    }

    fn teardown(&mut self, join: bool) -> Result<(), Error> {
        let Some(session) = self.session.take() else {
            return Ok(());
        };
        let plain = if join {
            session.umount_and_join()
        } else {
            // Drop unmounts through fuser's own guard without joining (a
            // drop must not block on a stuck serving thread).
            drop(session);
            Ok(())
        };
        if plain.is_ok() && !is_mounted(&self.path) {
            return Ok(());
        }
        let _ = nix::mount::umount2(&self.path, nix::mount::MntFlags::MNT_DETACH);
        if is_mounted(&self.path) {
            return Err(Error::Unmount {
                path: self.path.clone(),
                source: plain
                    .err()
                    .unwrap_or_else(|| std::io::Error::other("still mounted after a lazy unmount")),
            });
        }
        Ok(())
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = self.teardown(false);
    }
}

/// One line of `/proc/self/mountinfo`: mount point, filesystem type, source.
fn mount_table() -> Vec<(PathBuf, String, String)> {
    let Ok(text) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let point = unescape(fields.get(4)?);
            let dash = fields.iter().position(|f| *f == "-")?;
            let fstype = fields.get(dash + 1)?.to_string();
            let source = fields.get(dash + 2)?.to_string();
            Some((PathBuf::from(point), fstype, source))
        })
        .collect()
}

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(u8::is_ascii_digit) {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether a filesystem is mounted exactly at `path`.
pub fn is_mounted(path: &Path) -> bool {
    mount_table().iter().any(|(p, _, _)| p == path)
}

/// Mount points of this crate's mounts at or below `dir` (resolved to its
/// canonical path), from `/proc/self/mountinfo`.
pub fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    mount_table()
        .into_iter()
        .filter(|(p, fstype, source)| {
            p.starts_with(&dir) && fstype.starts_with("fuse") && source == FS_NAME
        })
        .map(|(p, _, _)| p)
        .collect()
}

/// Lazily detaches this crate's mounts at or below `dir` left by a process
/// that was killed outright (SIGKILL leaves no chance to clean up); returns
/// how many were detached.
pub fn sweep(dir: &Path) -> usize {
    mounts_under(dir)
        .into_iter()
        .filter(|p| nix::mount::umount2(p, nix::mount::MntFlags::MNT_DETACH).is_ok())
        .count()
}
