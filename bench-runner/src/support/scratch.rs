//! The scratch folder a command creates under `--disk`, and the cleanup of
//! ones that killed runs left behind.
//!
//! ## Format
//!
//! `<disk>/bench-runner-<run id>/` holds a marker file `.bench-runner-scratch`
//! whose content is `pid=<pid of the process that created it>\n`, then the
//! cells' own folders. Only a folder with that name prefix *and* that marker
//! is ever removed by a later run, and only when its process is gone, so a
//! concurrent run on the same disk and folders this tool did not create are
//! left alone.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// Name prefix of scratch folders.
pub const PREFIX: &str = "bench-runner-";
/// Marker file inside a scratch folder.
pub const MARKER: &str = ".bench-runner-scratch";

/// Checks that `--disk` names an existing directory.
pub fn check_disk(disk: &Path) -> Result<()> {
    let meta = std::fs::metadata(disk).with_context(|| format!("--disk {}", disk.display()))?;
    if !meta.is_dir() {
        bail!("--disk {} is not a directory", disk.display());
    }
    Ok(())
}

/// Checks `--disk`, removes scratch folders of earlier killed runs (saying
/// so on stderr), and creates this run's own, marked, scratch folder.
pub fn prepare_disk(disk: &Path, run_id: &str) -> Result<PathBuf> {
    check_disk(disk)?;
    for (path, pid) in remove_stale(disk) {
        eprintln!(
            "bench-runner: removed {}, the scratch folder of an earlier run (pid {pid}) that did not finish",
            path.display()
        );
    }
    let work = disk.join(format!("{PREFIX}{run_id}"));
    std::fs::create_dir(&work).with_context(|| {
        format!(
            "--disk {}: cannot create working folder {}",
            disk.display(),
            work.display()
        )
    })?;
    let marker = format!("pid={}\n", std::process::id());
    if let Err(e) = std::fs::write(work.join(MARKER), marker) {
        let _ = std::fs::remove_dir_all(&work);
        return Err(e).with_context(|| format!("write {}", work.join(MARKER).display()));
    }
    Ok(work)
}

/// The pid recorded in a scratch folder's marker, if it is one of ours.
fn owner(dir: &Path) -> Option<u32> {
    let name = dir.file_name()?.to_str()?;
    if !name.starts_with(PREFIX) {
        return None;
    }
    let text = std::fs::read_to_string(dir.join(MARKER)).ok()?;
    text.trim().strip_prefix("pid=")?.parse().ok()
}

fn alive(pid: u32) -> bool {
    Path::new("/proc").join(pid.to_string()).exists()
}

/// Removes the marked scratch folders under `disk` whose process is gone;
/// returns each removed folder with its pid. Does nothing where `/proc`
/// cannot tell which processes live.
pub fn remove_stale(disk: &Path) -> Vec<(PathBuf, u32)> {
    if !Path::new("/proc/self").exists() {
        return Vec::new();
    }
    let Ok(entries) = std::fs::read_dir(disk) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for e in entries.flatten() {
        let path = e.path();
        let Some(pid) = owner(&path) else { continue };
        if pid == std::process::id() || alive(pid) {
            continue;
        }
        if std::fs::remove_dir_all(&path).is_ok() {
            removed.push((path, pid));
        }
    }
    removed
}

/// A scratch folder removed (with everything in it) when dropped, on every
/// exit path of the command that owns it.
#[derive(Debug)]
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    /// See [`prepare_disk`].
    pub fn create(disk: &Path, run_id: &str) -> Result<ScratchDir> {
        prepare_disk(disk, run_id).map(ScratchDir)
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_marked_folders_of_dead_processes_are_removed() {
        let t = tempfile::tempdir().unwrap();
        let disk = t.path();
        // pid 0 is never a user process: a dead owner.
        let stale = disk.join(format!("{PREFIX}old"));
        std::fs::create_dir(&stale).unwrap();
        std::fs::write(stale.join(MARKER), "pid=0\n").unwrap();
        std::fs::write(stale.join("data"), b"x").unwrap();
        // Same prefix, no marker: not provably ours.
        let unmarked = disk.join(format!("{PREFIX}mine"));
        std::fs::create_dir(&unmarked).unwrap();
        // A marker, but its process lives (this test).
        let live = disk.join(format!("{PREFIX}live"));
        std::fs::create_dir(&live).unwrap();
        std::fs::write(live.join(MARKER), format!("pid={}\n", std::process::id())).unwrap();
        // A marker, but another name.
        let other = disk.join("data");
        std::fs::create_dir(&other).unwrap();
        std::fs::write(other.join(MARKER), "pid=0\n").unwrap();

        let removed = remove_stale(disk);
        assert_eq!(removed, vec![(stale.clone(), 0)]);
        assert!(!stale.exists() && unmarked.exists() && live.exists() && other.exists());
    }

    #[test]
    fn scratch_dir_is_marked_and_removed_on_drop() {
        let t = tempfile::tempdir().unwrap();
        let s = ScratchDir::create(t.path(), "x").unwrap();
        assert_eq!(owner(s.path()), Some(std::process::id()));
        let p = s.path().to_path_buf();
        drop(s);
        assert!(!p.exists());
    }
}
