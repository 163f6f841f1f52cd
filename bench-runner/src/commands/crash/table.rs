//! The crash table on stdout: the rows, a legend, and for each BROKEN line
//! the command that replays it and the likely fix.

use results::CrashRow;

/// Printed under the table (docs/crash.md, *Reading the table*, explains it).
pub const LEGEND: &str = "\
legend:
  fs        where the crash happened. posix, linux: a simulated power cut
            (everything not yet synced may vanish; posix: a new file's name
            survives only a directory fsync; linux: ext4 data=ordered, a file
            fsync also commits the names created before it; xfs, btrfs,
            ext4-journal with --profile: see the docs). fuse-posix,
            fuse-linux: the same power cut under a process writing through a
            FUSE mount of the simulator (any engine, or an --exec program).
            process-kill: the engine process SIGKILLed on a real disk (the
            kernel's page cache survives, so no policy may lose an
            acknowledged write). 'N threads': N writers at once.
  trials    crashes run for this line
  acked     writes acknowledged before the crashes, summed over trials
  lost      trials that lost an acknowledged write / acknowledged writes lost
  files     files whose names vanished in a crash
  corrupt   reads that returned a value never written
  resurr    acknowledged deletes undone (their keys came back; also in lost)
  rec.fail  recoveries that failed (error or panic)
  verdict   kept: every promise held, nothing acknowledged was lost.
            lost (no dir sync: expected): only never-synced directory entries
            were lost, which a policy without +dir allows (add +dir to keep
            them). lost (no sync: expected): writes not yet synced were lost,
            which none (nothing promised on power loss) and batch:N (at most
            the last N-1) allow. BROKEN: a promise was broken: an unexpected
            loss, a corrupt read, a resurrected delete or a failed recovery
            (exit code 1).";

/// Printed under the legend when the table has exhaustive lines.
pub const EXHAUSTIVE_LEGEND: &str = "\
exhaustive lines (crash --exhaustive):
  trials    workloads run (every sequence of --depth steps over 2 keys)
  states    post-crash states checked: a power cut after every simulator
            operation, into every state the profile allows there (per file:
            every prefix of its unsynced writes, and the next one torn at
            each 512-byte sector; names as the profile allows; every
            combination across files, at most 1,024 per crash, sampled
            beyond); acked, lost, files, corrupt, resurr and rec.fail count
            states
  viol.     states that broke a promise";

/// What a replay command needs beyond the row itself.
#[derive(Debug, Clone, Default)]
pub struct ReplayContext {
    /// ` --exec 'CMD' --exec-promise P` for an external engine.
    pub exec: Option<String>,
    /// `--disk` of process-kill lines.
    pub disk: Option<std::path::PathBuf>,
    /// `--ops` of the run.
    pub ops: u64,
    /// `--seed` of the run (FUSE replays find the trial's crash mode by it).
    pub seed: u64,
    /// `--fsync-eio` of the run (FUSE replays fail the same sync).
    pub fsync_eio: bool,
}

/// Prints the table, the legend, and how to follow up each BROKEN line.
pub fn print(rows: &[CrashRow], ctx: &ReplayContext) -> std::io::Result<()> {
    // Wide enough for `fuse-ext4-journal` and `ext4-journal 4 threads`.
    let fs_w = rows.iter().map(|r| r.profile.len()).fold(16, usize::max);
    let exhaustive = rows.iter().any(|r| r.states_checked.is_some());
    let opt = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_default();
    let states = |r: Option<&CrashRow>| match (exhaustive, r) {
        (false, _) => String::new(),
        (true, None) => format!(" {:>8} {:>6}", "states", "viol."),
        (true, Some(r)) => format!(" {:>8} {:>6}", opt(r.states_checked), opt(r.violations)),
    };
    outln!(
        "{:<8} {:<13} {:<fs_w$} {:>6}{} {:>7} {:>16} {:>6} {:>7} {:>6} {:>8}  {:<20} verdict",
        "engine",
        "policy",
        "fs",
        "trials",
        states(None),
        "acked",
        "lost (trials/wr)",
        "files",
        "corrupt",
        "resurr",
        "rec.fail",
        "first failing seed",
    )?;
    for r in rows {
        outln!(
            "{:<8} {:<13} {:<fs_w$} {:>6}{} {:>7} {:>16} {:>6} {:>7} {:>6} {:>8}  {:<20} {}",
            r.engine,
            r.policy,
            r.profile,
            r.trials,
            states(Some(r)),
            r.acked_writes,
            format!("{}/{}", r.trials_with_loss, r.lost_writes),
            r.files_lost,
            r.corrupt_reads,
            r.resurrected_deletes,
            r.recovery_failures,
            r.first_failing_seed
                .map(|s| s.to_string())
                .unwrap_or_default(),
            verdict(r),
        )?;
    }
    outln!("{LEGEND}")?;
    if exhaustive {
        outln!("{EXHAUSTIVE_LEGEND}")?;
    }
    for r in rows.iter().filter(|r| !r.promise_kept) {
        outln!()?;
        outln!(
            "BROKEN: {} {} on {}: {}",
            r.engine,
            r.policy,
            r.profile,
            r.first_violation
        )?;
        if let Some(seed) = r.first_failing_seed {
            outln!("  replay: {}", replay_command(r, seed, ctx))?;
        }
        outln!("  likely fix: {}", likely_fix(r))?;
    }
    Ok(())
}

/// The verdict column (rows from before the column existed have none).
pub fn verdict(r: &CrashRow) -> &str {
    if !r.verdict.is_empty() {
        &r.verdict
    } else if r.promise_kept {
        "kept"
    } else {
        "BROKEN"
    }
}

/// The command that reruns the failing trial of `r` with its trace.
pub fn replay_command(r: &CrashRow, seed: u64, ctx: &ReplayContext) -> String {
    let (fs, threads) = match r.profile.split_once(' ') {
        Some((fs, t)) => (fs, t.trim_end_matches(" threads")),
        None => (r.profile.as_str(), ""),
    };
    let mut c = String::from("bench-runner crash");
    match &ctx.exec {
        Some(exec) => c.push_str(exec),
        None => c.push_str(&format!(" --engines {} --policies {}", r.engine, r.policy)),
    }
    if let Some(profile) = fs.strip_prefix("fuse-") {
        c.push_str(&format!(" --fs fuse --profile {profile}"));
        if ctx.fsync_eio {
            c.push_str(" --fsync-eio");
        }
        if let Some(d) = &ctx.disk {
            c.push_str(&format!(
                " --disk {}",
                shell_quote(&d.display().to_string())
            ));
        }
        if ctx.seed != 1 {
            c.push_str(&format!(" --seed {}", ctx.seed));
        }
    } else if fs == "process-kill" {
        let disk = ctx
            .disk
            .as_ref()
            .map(|d| shell_quote(&d.display().to_string()))
            .unwrap_or_else(|| "DIR".into());
        c.push_str(&format!(" --kill --disk {disk}"));
    } else {
        c.push_str(&format!(" --profile {fs}"));
    }
    c.push_str(&format!(" --ops {} --replay {seed}", ctx.ops));
    if !threads.is_empty() {
        c.push_str(&format!(
            "   (found with {threads} writers at once; the replay runs one writer, so it may not fail again: rerun the line instead)"
        ));
    }
    c
}

/// `s` quoted for sh when it needs it.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+:@=,".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The most likely fix for a broken line, from its first violation.
pub fn likely_fix(r: &CrashRow) -> String {
    let v = r.first_violation.as_str();
    if v.contains("recovery failed") || v.contains("read after recovery") {
        return "the engine's recovery fails on this crash image: a torn or missing file must be truncated or skipped with a report, not fail the open".into();
    }
    if v.contains("never written") || v.contains("scan after recovery") {
        return "recovery returned bytes nobody wrote: check record checksums and how a torn tail is detected".into();
    }
    if v.contains("after a failed sync") {
        return "after a failed fsync the engine must fail the pending writes and refuse new ones (poison), never retry and acknowledge".into();
    }
    if r.profile == "process-kill" {
        return "a write was acknowledged before it reached the kernel: flush user-space buffers with write(2) before replying ok".into();
    }
    if r.engine.starts_with("exec") {
        return "the program acknowledges before its data is durable: fsync the file before replying ok, and fsync the directory after creating, renaming or removing a file".into();
    }
    if !r.policy.contains("+dir") && r.files_lost > 0 && !offers_dir_sync(r) {
        return format!(
            "{} creates files without fsyncing their directory and has no setting that does ({} +dir is refused): its {} promise holds only where a file sync also commits the names before it (ext4, xfs: the linux profile); the library must fsync the directory after creating a file",
            r.engine, r.engine, r.policy
        );
    }
    if !r.policy.contains("+dir") {
        return format!(
            "add +dir ({}+dir): file names created without a directory fsync vanish on power loss",
            r.policy
        );
    }
    "an acknowledgement came before the sync that covers it: check the engine's sync path (this is what syncs that do not sync look like)".into()
}

/// Whether the row's engine offers `+dir` for its policy (unknown engines
/// and unparsable policies: assumed so).
fn offers_dir_sync(r: &CrashRow) -> bool {
    let (Ok(info), Ok(policy)) = (
        engines::registry::info(&r.engine),
        r.policy.parse::<engines::SyncPolicy>(),
    ) else {
        return true;
    };
    (info.supports)(&engines::SyncPolicy {
        dir_sync: true,
        ..policy
    })
    .is_ok()
}
