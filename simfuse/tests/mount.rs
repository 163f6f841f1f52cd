//! The simulator through a real kernel mount: what reaches it, what a sync
//! makes durable, and that no mount outlives its guard. Needs /dev/fuse
//! (and root); skipped with a printed reason where /dev/fuse is absent
//! (failed instead under `BENCH_REQUIRE_FUSE=1`).
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::Path;

use engines::fs::{CrashMode, Profile, SimFs, Vfs};
use simfuse::{mounts_under, Mounted};

mod common;
use common::fuse_present;

fn sim_read(sim: &SimFs, path: &str) -> Vec<u8> {
    sim.open(Path::new(path)).unwrap().read_all().unwrap()
}

#[test]
fn writes_reach_the_simulator_at_once_and_only_syncs_make_them_durable() {
    if !fuse_present() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let sim = SimFs::new(Profile::Posix);
    let m = Mounted::mount(sim.clone(), tmp.path()).unwrap();
    let db = m.path().join("db");
    fs::create_dir(&db).unwrap();
    let mut f = File::create_new(db.join("a")).unwrap();
    f.write_all(b"hello").unwrap();
    // No writeback cache: the write is in the simulator before close or sync.
    assert_eq!(sim_read(&sim, "/db/a"), b"hello");
    let (c, _) = sim.crash(1, CrashMode::DurableOnly);
    assert!(
        !c.exists(Path::new("/db/a")).unwrap(),
        "unsynced name survived"
    );

    f.sync_data().unwrap(); // FUSE FSYNC with the datasync flag
    let (c, r) = sim.crash(1, CrashMode::DurableOnly);
    assert!(
        !c.exists(Path::new("/db/a")).unwrap(),
        "posix: a file sync does not make the name durable"
    );
    assert_eq!(r.files_lost.len(), 1);

    File::open(&db).unwrap().sync_all().unwrap(); // FUSE FSYNCDIR
    f.write_all(b" world").unwrap();
    let (c, _) = sim.crash(1, CrashMode::DurableOnly);
    assert_eq!(sim_read(&c, "/db/a"), b"hello", "only synced bytes survive");

    // Truncate (setattr size) is pending until synced, like a write.
    f.set_len(2).unwrap();
    assert_eq!(fs::read(db.join("a")).unwrap(), b"he");
    let (c, _) = sim.crash(1, CrashMode::DurableOnly);
    assert_eq!(sim_read(&c, "/db/a"), b"hello");
    drop(f);
    m.unmount().unwrap();
    assert!(mounts_under(tmp.path()).is_empty());
}

#[test]
fn rename_unlink_and_listing_follow_the_simulator() {
    if !fuse_present() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let sim = SimFs::new(Profile::Linux);
    let m = Mounted::mount(sim.clone(), tmp.path()).unwrap();
    let d = m.path().join("d");
    fs::create_dir(&d).unwrap();
    fs::write(d.join("x.tmp"), b"new").unwrap();
    fs::write(d.join("x"), b"old").unwrap();
    let kept = File::open(d.join("x")).unwrap();
    fs::rename(d.join("x.tmp"), d.join("x")).unwrap();
    assert_eq!(fs::read(d.join("x")).unwrap(), b"new");
    // The replaced file stays readable through its open handle.
    let mut buf = [0u8; 3];
    kept.read_exact_at(&mut buf, 0).unwrap();
    assert_eq!(&buf, b"old");
    assert_eq!(
        sim.list_dir(Path::new("/d")).unwrap(),
        vec!["x".to_string()]
    );
    fs::write(d.join("y"), b"y").unwrap();
    fs::remove_file(d.join("y")).unwrap();
    let mut names: Vec<String> = fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["x"]);
    // Refused, not faked.
    let e = fs::remove_dir(&d).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(95), "rmdir: {e}");
    drop(kept);
    m.unmount().unwrap();
}

#[test]
fn msync_of_a_shared_mapping_arrives_as_write_and_fsync() {
    if !fuse_present() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let sim = SimFs::new(Profile::Linux);
    let m = Mounted::mount(sim.clone(), tmp.path()).unwrap();
    let path = m.path().join("map");
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .unwrap();
    f.set_len(4096).unwrap();
    f.sync_all().unwrap();
    mapped_write(&f, b"through the mapping", false);
    let (c, _) = sim.crash(3, CrashMode::DurableOnly);
    assert!(
        sim_read(&c, "/map").iter().all(|b| *b == 0),
        "bytes written through a mapping are not durable before msync"
    );
    mapped_write(&f, b"through the mapping", true);
    let (c, _) = sim.crash(3, CrashMode::DurableOnly);
    assert_eq!(&sim_read(&c, "/map")[..19], b"through the mapping");
    drop(f);
    m.unmount().unwrap();
}

/// Writes `data` at the start of `f` through a shared mapping, with
/// msync(MS_SYNC) when asked, then unmaps.
#[allow(unsafe_code)]
fn mapped_write(f: &File, data: &[u8], sync: bool) {
    use std::os::fd::AsRawFd;
    // SAFETY: maps 4096 bytes of a file at least that long, writes inside
    // the mapping only, and unmaps it before returning.
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            f.as_raw_fd(),
            0,
        );
        assert_ne!(p, libc::MAP_FAILED, "{}", std::io::Error::last_os_error());
        std::ptr::copy_nonoverlapping(data.as_ptr(), p.cast::<u8>(), data.len());
        if sync {
            assert_eq!(libc::msync(p, 4096, libc::MS_SYNC), 0);
        }
        assert_eq!(libc::munmap(p, 4096), 0);
    }
}

#[test]
fn fallocate_grows_the_file_with_zeros_and_only_a_file_sync_keeps_it() {
    if !fuse_present() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let sim = SimFs::new(Profile::Posix);
    let m = Mounted::mount(sim.clone(), tmp.path()).unwrap();
    let path = m.path().join("a");
    let mut f = File::create_new(&path).unwrap();
    f.write_all(b"abc").unwrap();
    f.sync_all().unwrap();
    File::open(m.path()).unwrap().sync_all().unwrap(); // the name is durable

    // Mode 0, as glibc's posix_fallocate sends it: the size grows at once.
    assert_eq!(fallocate(&f, None, 0, 8192), Ok(()));
    assert_eq!(fs::metadata(&path).unwrap().len(), 8192);
    let data = fs::read(&path).unwrap();
    assert_eq!(&data[..3], b"abc");
    assert!(
        data[3..].iter().all(|b| *b == 0),
        "reserved space reads as zeros"
    );
    assert_eq!(sim_read(&sim, "/a").len(), 8192, "it reached the simulator");
    // Before the file's sync a crash drops the allocation.
    let (c, r) = sim.crash(1, CrashMode::DurableOnly);
    assert_eq!(sim_read(&c, "/a"), b"abc");
    assert_eq!(r.dropped, ["#3 allocate /a 8192"]);

    // KEEP_SIZE: accepted, nothing visible changes.
    assert_eq!(
        fallocate(&f, Some(libc::FALLOC_FL_KEEP_SIZE), 0, 1 << 20),
        Ok(())
    );
    assert_eq!(fs::metadata(&path).unwrap().len(), 8192);
    // Other modes are refused, not faked.
    let punch = libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE;
    assert_eq!(fallocate(&f, Some(punch), 0, 4096), Err(libc::EOPNOTSUPP));
    assert_eq!(fs::read(&path).unwrap()[..3], *b"abc");

    f.sync_data().unwrap(); // fdatasync commits the size change
    let (c, _) = sim.crash(1, CrashMode::DurableOnly);
    let survived = sim_read(&c, "/a");
    assert_eq!(survived.len(), 8192, "a synced allocation survives");
    assert!(survived[3..].iter().all(|b| *b == 0));
    drop(f);
    m.unmount().unwrap();
}

/// `posix_fallocate(f, offset, len)` when `mode` is `None`, else
/// `fallocate(f, mode, offset, len)`; the errno on failure.
#[allow(unsafe_code)]
fn fallocate(f: &File, mode: Option<i32>, offset: i64, len: i64) -> Result<(), i32> {
    use std::os::fd::AsRawFd;
    // SAFETY: plain system calls on an open descriptor, no memory passed.
    let r = unsafe {
        match mode {
            None => libc::posix_fallocate(f.as_raw_fd(), offset, len),
            Some(m) => match libc::fallocate(f.as_raw_fd(), m, offset, len) {
                0 => 0,
                _ => std::io::Error::last_os_error().raw_os_error().unwrap_or(-1),
            },
        }
    };
    if r == 0 {
        Ok(())
    } else {
        Err(r)
    }
}

#[test]
fn no_mount_survives_an_error_or_a_panic() {
    if !fuse_present() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    fn failing(dir: &Path) -> Result<(), String> {
        let m = Mounted::mount(SimFs::new(Profile::Posix), dir).map_err(|e| e.to_string())?;
        fs::write(m.path().join("f"), b"x").map_err(|e| e.to_string())?;
        Err("the trial failed while mounted".into())
    }
    assert!(failing(tmp.path()).is_err());
    assert!(mounts_under(tmp.path()).is_empty(), "an error left a mount");

    let dir = tmp.path().to_path_buf();
    let r = std::panic::catch_unwind(move || {
        let _m = Mounted::mount(SimFs::new(Profile::Posix), &dir).unwrap();
        panic!("a trial panicked while mounted");
    });
    assert!(r.is_err());
    assert!(mounts_under(tmp.path()).is_empty(), "a panic left a mount");
}
