//! One recovery measurement: load in one child, write the measured tail
//! in a second (over the line protocol), close it or SIGKILL it during the
//! tail, then reopen in a third that times the open plus the first read
//! and reports every key, checked against the acknowledged writes.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use crashcheck::process::Launch;
use crashcheck::protocol::{EngineProcess, Reply, Request};
use crashcheck::recovery::{Observed, RecoveryCheck, RecoveryHistory};
use engines::fs::CrashRng;

use super::plan::RecoveryCell;

/// How the measured writes end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// `close`, answered `ok`.
    Clean,
    /// SIGKILL during the measured writes.
    Kill,
}

/// What one measurement found.
#[derive(Debug, Clone)]
pub struct Measurement {
    /// Reopen plus first read, in milliseconds; `None` when the reopen failed.
    pub reopen_ms: Option<f64>,
    /// Bytes the engine read during that (Vfs engines only).
    pub bytes_read: Option<u64>,
    /// Bytes of log files after the close or kill.
    pub log_bytes: Option<u64>,
    /// Measured writes acknowledged.
    pub tail_acked: u64,
    /// The check of the recovered state.
    pub check: RecoveryCheck,
}

/// Options every child of a measurement gets.
#[derive(Debug, Clone)]
pub struct ChildOptions {
    /// bench-runner itself.
    pub exe: OsString,
    /// Value size.
    pub value_size: u64,
    /// Testing the checker: the writer child drops writes after this many.
    pub drop_after: Option<u64>,
    /// Drop the page cache before the timed reopen.
    pub cold: bool,
}

impl ChildOptions {
    fn launch(&self, cell: &RecoveryCell, extra: &[String]) -> Launch {
        let mut args: Vec<OsString> = [
            "recovery-child".to_string(),
            "--engine".into(),
            cell.info.name.into(),
            "--policy".into(),
            cell.policy.to_string(),
            "--value-size".into(),
            self.value_size.to_string(),
        ]
        .into_iter()
        .chain(extra.iter().cloned())
        .map(Into::into)
        .collect();
        if extra.is_empty() {
            if let Some(n) = self.drop_after {
                args.extend(["--test-drop-after".into(), n.to_string().into()]);
            }
        }
        Launch {
            program: self.exe.clone(),
            args,
        }
    }
}

/// The seed of a cell's kill point in repetition `round`: the same for its
/// clean and killed loads.
pub fn kill_seed(base: u64, cell: &RecoveryCell, round: u32) -> u64 {
    let mut h = base ^ 0x9E37_79B9_7F4A_7C15;
    for b in cell.slug().bytes().chain(round.to_le_bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Runs one measurement in a fresh folder `dir` (removed afterwards).
pub fn measure(
    opts: &ChildOptions,
    cell: &RecoveryCell,
    dir: &Path,
    seed: u64,
    ending: Ending,
) -> Result<Measurement> {
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    let r = measure_in(opts, cell, dir, seed, ending);
    let _ = std::fs::remove_dir_all(dir);
    r.with_context(|| {
        format!(
            "{} {} {} keys ({})",
            cell.info.name,
            cell.policy,
            cell.keys,
            match ending {
                Ending::Clean => "clean close",
                Ending::Kill => "kill",
            }
        )
    })
}

fn measure_in(
    opts: &ChildOptions,
    cell: &RecoveryCell,
    dir: &Path,
    seed: u64,
    ending: Ending,
) -> Result<Measurement> {
    let mut h = RecoveryHistory::new();
    let loaded = cell.loaded();
    if loaded > 0 {
        let launch = opts.launch(cell, &["--load".into(), loaded.to_string()]);
        let out = launch
            .command(dir)
            .stdin(Stdio::null())
            .output()
            .context("start the load child")?;
        if !out.status.success() {
            bail!(
                "the load child failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        for k in 0..loaded {
            h.loaded(k, k);
        }
    }
    let mut rng = CrashRng::new(seed);
    // The kill lands in the second half of the measured writes.
    let half = cell.tail / 2;
    let kill_at = half + rng.upto(cell.tail - half - 1);
    let mut writer = EngineProcess::spawn(opts.launch(cell, &[]).command(dir))?;
    let mut tail_acked = 0;
    let mut killed = false;
    for j in 0..cell.tail {
        let k = loaded + j;
        h.sent(k, k);
        let req = Request::Put(
            crashcheck::key_bytes(k),
            super::child::value(k, opts.value_size),
        );
        writer.send(&req)?;
        if ending == Ending::Kill && j == kill_at {
            std::thread::sleep(Duration::from_micros(rng.upto(300)));
            writer.kill()?;
            killed = true;
            break;
        }
        match writer.reply()? {
            Reply::Ok => {
                h.acknowledged();
                tail_acked += 1;
            }
            other => bail!("put of key {k} answered {}", other.to_line()),
        }
    }
    if killed {
        drop(writer);
    } else {
        writer.close().context("close after the measured writes")?;
    }
    let log_bytes = log_bytes(dir);
    let first_key = (loaded + tail_acked).saturating_sub(1);
    let launch = opts.launch(
        cell,
        &[
            "--reopen".into(),
            "--keys".into(),
            cell.keys.to_string(),
            "--first-key".into(),
            first_key.to_string(),
        ],
    );
    if opts.cold {
        crate::measure::sys::drop_caches()
            .context("drop the page cache before the reopen (--cold)")?;
    }
    let out = launch
        .command(dir)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .context("start the reopen child")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        // A recovery that fails is a finding about the engine, not an
        // error of the run: the line fails its check.
        return Ok(Measurement {
            reopen_ms: None,
            bytes_read: None,
            log_bytes,
            tail_acked,
            check: RecoveryCheck {
                acked: h.acked(),
                violation: Some(format!(
                    "the reopen failed ({}): {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                )),
                ..RecoveryCheck::default()
            },
        });
    }
    let (nanos, bytes_read, state) = parse_report(&stdout)?;
    Ok(Measurement {
        reopen_ms: Some(nanos as f64 / 1e6),
        bytes_read,
        log_bytes,
        tail_acked,
        check: h.check(&state),
    })
}

type Report = (u128, Option<u64>, HashMap<u64, Observed>);

/// Parses the reopen child's report.
fn parse_report(text: &str) -> Result<Report> {
    let mut lines = text.lines();
    let timing = lines.next().unwrap_or_default();
    let bad = |l: &str| anyhow::anyhow!("the reopen child printed {l:?}");
    let (nanos, bytes) = match timing.split(' ').collect::<Vec<_>>()[..] {
        ["timing", n, b] => (
            n.parse::<u128>().map_err(|_| bad(timing))?,
            match b {
                "-" => None,
                b => Some(b.parse::<u64>().map_err(|_| bad(timing))?),
            },
        ),
        _ => return Err(bad(timing)),
    };
    let mut state = HashMap::new();
    let mut ended = false;
    for l in lines {
        if l == "end" {
            ended = true;
            break;
        }
        let (k, v) = l.split_once(' ').ok_or_else(|| bad(l))?;
        let k: u64 = k.parse().map_err(|_| bad(l))?;
        let o = match v {
            "-" => Observed::Absent,
            "?" => Observed::Garbage,
            v => Observed::Version(v.parse().map_err(|_| bad(l))?),
        };
        state.insert(k, o);
    }
    if !ended {
        bail!("the reopen child's report ended early");
    }
    Ok((nanos, bytes, state))
}

/// Whether a file is an engine's log: a WAL, a log-structured data
/// segment, a journal (by name; `EngineStats` names no files).
fn is_log(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let in_journal = path
        .parent()
        .and_then(|p| p.file_name())
        .is_some_and(|p| p.to_string_lossy().contains("journal"));
    in_journal
        || [".wal", "-wal", ".log", ".data", ".seg", ".journal", ".jnl"]
            .iter()
            .any(|s| name.ends_with(s))
        || name.starts_with("wal")
}

/// Bytes of the log files under `dir`; `None` when it has none.
fn log_bytes(dir: &Path) -> Option<u64> {
    let mut total = None;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(p),
                Ok(m) if is_log(&p) => *total.get_or_insert(0) += m.len(),
                _ => {}
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_parse_and_truncated_ones_are_refused() {
        let (n, b, s) = parse_report("timing 1500000 4096\n0 0\n1 -\n2 ?\nend\n").unwrap();
        assert_eq!((n, b), (1_500_000, Some(4096)));
        assert_eq!(s[&0], Observed::Version(0));
        assert_eq!(s[&1], Observed::Absent);
        assert_eq!(s[&2], Observed::Garbage);
        assert_eq!(parse_report("timing 5 -\nend\n").unwrap().1, None);
        assert!(parse_report("timing 5 -\n0 0\n").is_err());
        assert!(parse_report("hello\n").is_err());
    }

    #[test]
    fn log_files_are_told_by_name() {
        for l in [
            "d/000001.wal",
            "d/db-wal",
            "d/000003.data",
            "d/journals/0",
            "d/fjall/0.jnl",
        ] {
            assert!(is_log(Path::new(l)), "{l}");
        }
        for n in ["d/000001.sst", "d/data.mdb", "d/MANIFEST", "d/db.redb"] {
            assert!(!is_log(Path::new(n)), "{n}");
        }
    }
}
