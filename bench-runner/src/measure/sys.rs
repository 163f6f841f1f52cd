//! The few facts only the OS can give: CPU time, process I/O, free space,
//! page-cache dropping, timer slack.
#![allow(unsafe_code)]

use std::path::Path;

/// User and system CPU seconds of this process so far (getrusage).
pub fn cpu_times() -> (f64, f64) {
    // SAFETY: getrusage writes into the zeroed struct we own; RUSAGE_SELF is valid.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    if rc != 0 {
        return (0.0, 0.0);
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (secs(ru.ru_utime), secs(ru.ru_stime))
}

/// The write counters of `/proc/self/io`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcIo {
    /// `wchar`: bytes passed to write calls (what the counting Vfs counts).
    pub wchar: u64,
    /// `syscw`: write system calls.
    pub syscw: u64,
    /// `write_bytes`: bytes sent to the storage layer (page-granular, at writeback).
    pub write_bytes: u64,
}

impl ProcIo {
    /// Reads this process's counters; `None` where /proc/self/io is absent.
    pub fn read() -> Option<ProcIo> {
        Self::parse(&std::fs::read_to_string("/proc/self/io").ok()?)
    }

    /// Parses the text of `/proc/<pid>/io`.
    pub fn parse(text: &str) -> Option<ProcIo> {
        let field = |name: &str| -> Option<u64> {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .and_then(|v| v.trim().parse().ok())
        };
        Some(ProcIo {
            wchar: field("wchar")?,
            syscw: field("syscw")?,
            write_bytes: field("write_bytes")?,
        })
    }

    /// The counts between `earlier` and `self`.
    pub fn since(&self, earlier: &ProcIo) -> ProcIo {
        ProcIo {
            wchar: self.wchar.saturating_sub(earlier.wchar),
            syscw: self.syscw.saturating_sub(earlier.syscw),
            write_bytes: self.write_bytes.saturating_sub(earlier.write_bytes),
        }
    }
}

/// Bytes available to an unprivileged user on the filesystem holding `path`.
pub fn free_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs reads a NUL-terminated path and writes into our struct.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    (rc == 0).then(|| st.f_bavail as u64 * st.f_frsize as u64)
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Sets the calling thread's timer slack to 1 ns, so a timed sleep ends
/// when asked rather than up to 50 us later (the kernel's default slack).
/// Best effort: a kernel that refuses keeps its default.
pub fn tighten_timer_slack() {
    // SAFETY: PR_SET_TIMERSLACK takes one integer argument and touches no memory.
    let _ = unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong) };
}

/// Drops the page cache (root only): `sync; echo 3 > /proc/sys/vm/drop_caches`.
pub fn drop_caches() -> std::io::Result<()> {
    // SAFETY: sync has no preconditions.
    unsafe { libc::sync() };
    std::fs::write("/proc/sys/vm/drop_caches", b"3\n")
}

/// `MemAvailable` of /proc/meminfo in bytes: memory that can be used
/// without swapping. None where the kernel does not say.
pub fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// Reserves `len` bytes for `file` with `fallocate(2)` (mode 0: the file
/// size grows to `len`, the space reads as zeros).
pub fn fallocate(file: &std::fs::File, len: u64) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let len = libc::off_t::try_from(len)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "length too large"))?;
    // SAFETY: the descriptor is open for the lifetime of `file`.
    let rc = unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, len) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_io() {
        let text = "rchar: 1\nwchar: 2000\nsyscr: 3\nsyscw: 40\nread_bytes: 0\nwrite_bytes: 8192\ncancelled_write_bytes: 0\n";
        let io = ProcIo::parse(text).unwrap();
        assert_eq!((io.wchar, io.syscw, io.write_bytes), (2000, 40, 8192));
        assert_eq!(ProcIo::parse("rchar: 1\n"), None);
        assert!(ProcIo::read().is_some_and(|a| a.wchar > 0 || a.syscw == 0));
    }
}
