//! The process's memory around a cell: the resident set when the cell's
//! engine opens, its high-water mark over the cell, and what is left at
//! the end. Linux only (`/proc/self/status`, `/proc/self/clear_refs`);
//! elsewhere every figure is empty.
#![allow(unsafe_code)]

/// Resident-set figures of this process, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rss {
    /// `VmRSS`: resident now.
    pub now: u64,
    /// `VmHWM`: the highest resident set since the last reset.
    pub peak: u64,
}

impl Rss {
    /// Reads `/proc/self/status`; `None` where it is missing or lacks the fields.
    pub fn read() -> Option<Rss> {
        Self::parse(&std::fs::read_to_string("/proc/self/status").ok()?)
    }

    /// Parses the text of `/proc/<pid>/status` (fields in kB).
    pub fn parse(text: &str) -> Option<Rss> {
        let kb = |name: &str| -> Option<u64> {
            let rest = text.lines().find_map(|l| l.strip_prefix(name))?;
            rest.trim_start_matches(':')
                .split_whitespace()
                .next()?
                .parse::<u64>()
                .ok()
                .map(|k| k * 1024)
        };
        Some(Rss {
            now: kb("VmRSS")?,
            peak: kb("VmHWM")?,
        })
    }
}

/// Starts a cell's memory measurement: hands freed heap back to the OS
/// (so an earlier cell's garbage does not count), then resets the
/// high-water mark to the resident set now (writing `5` to
/// `/proc/self/clear_refs`). Returns the resident set at the reset;
/// `None` when the mark could not be reset (its later reading would
/// cover more than the cell).
pub fn reset_peak() -> Option<u64> {
    trim_heap();
    std::fs::write("/proc/self/clear_refs", b"5").ok()?;
    Rss::read().map(|r| r.now)
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim_heap() {
    // SAFETY: malloc_trim only returns free memory of glibc's heap to the OS.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim_heap() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_fields_in_kib() {
        let text = "Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n";
        assert_eq!(
            Rss::parse(text),
            Some(Rss {
                now: 1024 * 1024,
                peak: 2048 * 1024
            })
        );
        assert_eq!(Rss::parse("Name:\tx\n"), None);
    }
}
