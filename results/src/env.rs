//! The environment of a run: machine, OS, and the disk behind `--disk`,
//! read from sysinfo, `/proc/self/mountinfo` and `/sys/block`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Where and on what a run was measured (`environment.json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    /// The results folder's format ([`crate::FORMAT_VERSION`] when written
    /// by this binary; 1 in folders written before it was recorded).
    #[serde(default = "format_v1")]
    pub format_version: u32,
    /// Run identifier.
    pub run_id: String,
    /// Machine/disk label given with `--label` (defaults to the host name).
    pub label: String,
    /// Host name.
    pub host: String,
    /// OS name and version.
    pub os: String,
    /// Kernel version.
    pub kernel: String,
    /// CPU model.
    pub cpu_model: String,
    /// Logical CPUs.
    pub cpu_cores: usize,
    /// Physical memory.
    pub memory_bytes: u64,
    /// Virtualisation detected (`kvm`, `none`, ...), if detectable.
    pub virtualization: Option<String>,
    /// The kernel's transparent huge page mode (`always`, `madvise` or
    /// `never`), which decides whether the btree's page frames get huge
    /// pages (they ask with `madvise`); absent where the kernel has none,
    /// and in folders written before it was recorded.
    #[serde(default)]
    pub transparent_hugepages: Option<String>,
    /// The disk under test, when a path was given.
    pub disk: Option<DiskInfo>,
    /// bench-runner version.
    pub tool_version: String,
    /// Git commit the tool was built from (`unknown` when it was built
    /// outside a git checkout; absent in folders written before it was
    /// recorded). Set by the caller: the binary knows what built it.
    pub git_commit: Option<String>,
    /// Versions of the storage libraries compiled in (the reference
    /// engines): `sqlite` (SQLite's own version string), `lmdb` (LMDB's),
    /// and the crates `rusqlite`, `redb`, `fjall`, `heed`. Empty in folders
    /// written before it was recorded. Set by the caller, as `git_commit`.
    #[serde(default)]
    pub libraries: BTreeMap<String, String>,
    /// Start time, RFC 3339 UTC.
    pub started_utc: String,
    /// The exact command line.
    pub command: String,
}

/// The version of a folder that records none.
fn format_v1() -> u32 {
    1
}

/// The filesystem and block device behind a path.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DiskInfo {
    /// The path given.
    pub path: PathBuf,
    /// Mount point containing it.
    pub mount_point: PathBuf,
    /// Filesystem type (`ext4`, `xfs`, `tmpfs`, ...).
    pub filesystem: String,
    /// Mount options.
    pub mount_options: String,
    /// Mount source (`/dev/vda1`, `tmpfs`).
    pub source: String,
    /// Block device name in /sys/class/block (`vda`, `nvme0n1p1`), if any.
    pub device: Option<String>,
    /// Whole-disk device name (`vda`, `nvme0n1`), if any.
    pub disk_device: Option<String>,
    /// Device model, if reported.
    pub model: Option<String>,
    /// Rotational (spinning) disk.
    pub rotational: Option<bool>,
    /// Write cache mode (`write back`, `write through`).
    pub write_cache: Option<String>,
    /// Logical sector size.
    pub logical_sector_bytes: Option<u64>,
    /// Physical sector size.
    pub physical_sector_bytes: Option<u64>,
    /// ext4's journal: `jbd2` when it has one, `none` when formatted
    /// without (`/sys/fs/ext4/<dev>/journal_task` reads `<none>`); unset
    /// for other filesystems or when not reported.
    #[serde(default)]
    pub journal: Option<String>,
}

fn read_trim(path: impl AsRef<Path>) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_string())
}

/// Unescapes the octal escapes of /proc/self/mountinfo (`\040` = space).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() {
            let oct = &b[i + 1..i + 4];
            if oct.iter().all(|c| (b'0'..=b'7').contains(c)) {
                let v = oct
                    .iter()
                    .fold(0u32, |acc, c| acc * 8 + u32::from(c - b'0'));
                out.push(v as u8);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Finds the mount and block device behind `path` (which must exist).
pub fn detect_disk(path: &Path) -> DiskInfo {
    let path = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut info = DiskInfo {
        path: path.clone(),
        ..DiskInfo::default()
    };
    let Ok(mountinfo) = fs::read_to_string("/proc/self/mountinfo") else {
        return info;
    };
    let mut best: Option<(usize, &str)> = None;
    for line in mountinfo.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        if fields.len() < 5 {
            continue;
        }
        let mp = unescape(fields[4]);
        if path.starts_with(&mp) && best.is_none_or(|(len, _)| mp.len() >= len) {
            best = Some((mp.len(), line));
        }
    }
    let Some((_, line)) = best else {
        return info;
    };
    let fields: Vec<&str> = line.split(' ').collect();
    let dash = fields
        .iter()
        .position(|f| *f == "-")
        .unwrap_or(fields.len());
    info.mount_point = PathBuf::from(unescape(fields[4]));
    info.mount_options = fields.get(5).copied().unwrap_or_default().to_string();
    info.filesystem = fields
        .get(dash + 1)
        .copied()
        .unwrap_or_default()
        .to_string();
    info.source = fields
        .get(dash + 2)
        .copied()
        .unwrap_or_default()
        .to_string();
    if let Some(super_opts) = fields.get(dash + 3) {
        info.mount_options = format!("{},{}", info.mount_options, super_opts);
    }
    let majmin = fields.get(2).copied().unwrap_or_default();
    let sys = PathBuf::from(format!("/sys/dev/block/{majmin}"));
    if let Ok(real) = fs::canonicalize(&sys) {
        let dev = real.file_name().map(|n| n.to_string_lossy().into_owned());
        // A partition's parent directory is the whole disk.
        let disk_dir = if real.join("partition").exists() {
            real.parent().map(Path::to_path_buf).unwrap_or(real.clone())
        } else {
            real.clone()
        };
        let disk = disk_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        let q = disk_dir.join("queue");
        info.rotational = read_trim(q.join("rotational")).map(|s| s == "1");
        info.write_cache = read_trim(q.join("write_cache"));
        info.logical_sector_bytes =
            read_trim(q.join("logical_block_size")).and_then(|s| s.parse().ok());
        info.physical_sector_bytes =
            read_trim(q.join("physical_block_size")).and_then(|s| s.parse().ok());
        info.model = read_trim(disk_dir.join("device/model"))
            .or_else(|| read_trim(disk_dir.join("device/name")))
            .filter(|s| !s.is_empty());
        if info.filesystem == "ext4" {
            info.journal = dev
                .as_deref()
                .and_then(|d| read_trim(format!("/sys/fs/ext4/{d}/journal_task")))
                .map(|t| ext4_journal(&t).to_string());
        }
        info.device = dev;
        info.disk_device = disk;
    }
    info
}

/// ext4's journal from its `journal_task` (the jbd2 thread, or `<none>`).
fn ext4_journal(task: &str) -> &'static str {
    if task.is_empty() || task == "<none>" {
        "none"
    } else {
        "jbd2"
    }
}

/// Sectors-written counter of a block device, from its `stat` file.
#[derive(Debug, Clone)]
pub struct DeviceCounters {
    stat: PathBuf,
}

impl DeviceCounters {
    /// Counters for `device` (a name in /sys/class/block); `None` if it has
    /// no stat file.
    pub fn for_device(device: &str) -> Option<Self> {
        let stat = PathBuf::from(format!("/sys/class/block/{device}/stat"));
        stat.exists().then_some(DeviceCounters { stat })
    }

    /// Bytes written to the device so far (sectors written x 512).
    pub fn bytes_written(&self) -> Option<u64> {
        let text = fs::read_to_string(&self.stat).ok()?;
        // Field 7 (1-based) is sectors written, always in 512-byte units.
        let sectors: u64 = text.split_whitespace().nth(6)?.parse().ok()?;
        Some(sectors * 512)
    }
}

impl Environment {
    /// Captures the machine (and the disk behind `disk`, if given). What
    /// built the binary (`git_commit`, `libraries`) is left to the caller.
    pub fn capture(disk: Option<&Path>) -> Self {
        use sysinfo::System;
        // sysinfo 0.40 can fail to read the system; the fields then stay
        // empty (or zero) rather than failing the run.
        let sys = System::new().ok().map(|mut sys| {
            sys.refresh_memory();
            sys.refresh_cpu_all();
            sys
        });
        let cpu_model = sys
            .as_ref()
            .and_then(|s| s.cpus().first())
            .map(|c| c.brand().trim().to_string())
            .unwrap_or_default();
        let cpu_cores = sys.as_ref().map_or(0, |s| s.cpus().len());
        let cpu_cores = if cpu_cores == 0 {
            std::thread::available_parallelism().map_or(0, usize::from)
        } else {
            cpu_cores
        };
        Environment {
            format_version: crate::FORMAT_VERSION,
            host: System::host_name().unwrap_or_else(|_| "unknown-host".into()),
            os: System::long_os_version().unwrap_or_default(),
            kernel: System::kernel_version().unwrap_or_default(),
            cpu_model,
            cpu_cores,
            memory_bytes: sys.as_ref().map_or(0, System::total_memory),
            virtualization: detect_virtualization(),
            transparent_hugepages: detect_thp(),
            disk: disk.map(detect_disk),
            tool_version: crate::TOOL_VERSION.to_string(),
            ..Environment::default()
        }
    }
}

/// The selected word of `/sys/kernel/mm/transparent_hugepage/enabled`
/// (`always [madvise] never` -> `madvise`).
fn detect_thp() -> Option<String> {
    let line = read_trim("/sys/kernel/mm/transparent_hugepage/enabled")?;
    let (_, rest) = line.split_once('[')?;
    let (mode, _) = rest.split_once(']')?;
    Some(mode.to_string())
}

fn detect_virtualization() -> Option<String> {
    let vendor = read_trim("/sys/class/dmi/id/sys_vendor").unwrap_or_default();
    let product = read_trim("/sys/class/dmi/id/product_name").unwrap_or_default();
    let both = format!("{vendor} {product}").to_lowercase();
    for (needle, name) in [
        ("qemu", "kvm/qemu"),
        ("kvm", "kvm"),
        ("vmware", "vmware"),
        ("virtualbox", "virtualbox"),
        ("amazon ec2", "aws"),
        ("google", "gce"),
        ("microsoft", "hyper-v"),
        ("firecracker", "firecracker"),
    ] {
        if both.contains(needle) {
            return Some(name.into());
        }
    }
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    if cpuinfo.contains(" hypervisor") {
        return Some("unknown hypervisor".into());
    }
    if both.trim().is_empty() {
        None
    } else {
        Some("none".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_escapes() {
        assert_eq!(unescape(r"/mnt/my\040disk"), "/mnt/my disk");
        assert_eq!(unescape("/plain"), "/plain");
    }

    #[test]
    fn old_files_without_libraries_still_load() {
        let mut env = Environment::capture(None);
        env.libraries.insert("redb".into(), "4.0.0".into());
        let mut json = serde_json::to_value(&env).unwrap();
        assert_eq!(json["format_version"], crate::FORMAT_VERSION);
        json.as_object_mut().unwrap().remove("libraries");
        json.as_object_mut().unwrap().remove("format_version");
        let old: Environment = serde_json::from_value(json).unwrap();
        assert!(old.libraries.is_empty());
        assert_eq!(old.format_version, 1, "no version recorded: version 1");
    }

    #[test]
    fn detects_the_root_filesystem() {
        let d = detect_disk(Path::new("/"));
        assert_eq!(d.mount_point, PathBuf::from("/"));
        assert!(!d.filesystem.is_empty());
        if d.filesystem != "ext4" {
            assert_eq!(d.journal, None);
        }
    }

    #[test]
    fn ext4_journal_task_names_the_journal() {
        assert_eq!(ext4_journal("<none>"), "none");
        assert_eq!(ext4_journal(""), "none");
        assert_eq!(ext4_journal("jbd2/vda-8"), "jbd2");
        assert_eq!(ext4_journal("317"), "jbd2");
        // Environment files written before the field existed still load.
        let old = r#"{"path":"/","mount_point":"/","filesystem":"ext4","mount_options":"rw","source":"/dev/vda","device":"vda","disk_device":"vda","model":null,"rotational":true,"write_cache":null,"logical_sector_bytes":512,"physical_sector_bytes":4096}"#;
        let d: DiskInfo = serde_json::from_str(old).unwrap();
        assert_eq!(d.journal, None);
    }
}
