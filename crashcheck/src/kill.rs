//! Killing an engine process and everything it started.
//!
//! A crash trial is only as good as its kill. The engine under test is
//! often not the process the checker starts: `crash --exec CMD` runs
//! `sh -c CMD`, and a shell may fork the program instead of exec'ing it
//! (Debian's dash does); a wrapper script, `npm start` or a supervisor
//! starts the real engine as a child. Killing only the direct child leaves
//! the engine alive: it reads EOF on its stdin and closes its database
//! cleanly (a checkpoint, a final flush, an unlink of its journal) while
//! the power cut is being taken, and the verdict is wrong in either
//! direction (a WAL-mode SQLite lost its WAL and looked BROKEN; a program
//! acknowledging from a user-space buffer flushed it at EOF and looked
//! kept).
//!
//! So every engine process is started as the leader of its own process
//! group ([`isolate`]), and [`kill_tree`] SIGKILLs the whole group, plus
//! every descendant that left the group (`setsid`, a daemonizing wrapper),
//! and returns only once none of them is alive. This process becomes a
//! child subreaper, so descendants orphaned by the kill are reparented to
//! it and reaped here instead of lingering as zombies of `init`.

use std::collections::BTreeSet;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, killpg, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::Pid;

/// How long the killed processes may take to die before the trial is
/// abandoned (a process stuck in uninterruptible sleep).
pub const DEATH_TIMEOUT: Duration = Duration::from_secs(10);

/// Makes `command` start in a process group of its own, led by the
/// started process, and makes this process a child subreaper (once).
pub fn isolate(command: &mut Command) {
    static SUBREAPER: std::sync::Once = std::sync::Once::new();
    SUBREAPER.call_once(|| {
        // Without it orphans go to init and are still found dead or alive
        // by their process group; being the subreaper only lets us reap
        // them ourselves.
        let _ = nix::sys::prctl::set_child_subreaper(true);
    });
    command.process_group(0);
}

/// One process as `/proc/PID/stat` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ProcStat {
    pid: i32,
    ppid: i32,
    pgrp: i32,
    zombie: bool,
}

fn proc_stat(text: &str) -> Option<ProcStat> {
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parens.
    let pid = text.split(' ').next()?.parse().ok()?;
    let rest = &text[text.rfind(')')? + 2..];
    let mut f = rest.split(' ');
    let state = f.next()?;
    let ppid = f.next()?.parse().ok()?;
    let pgrp = f.next()?.parse().ok()?;
    Some(ProcStat {
        pid,
        ppid,
        pgrp,
        zombie: state == "Z" || state == "X",
    })
}

fn processes() -> Vec<ProcStat> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| {
        let e = e.ok()?;
        e.file_name().to_str()?.parse::<i32>().ok()?;
        proc_stat(&std::fs::read_to_string(e.path().join("stat")).ok()?)
    })
    .collect()
}

/// Every descendant of `root` (by parent links), `root` excluded.
fn descendants(all: &[ProcStat], root: i32) -> BTreeSet<i32> {
    let mut found = BTreeSet::new();
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for s in all.iter().filter(|s| s.ppid == p && s.pid != root) {
            if found.insert(s.pid) {
                frontier.push(s.pid);
            }
        }
    }
    found
}

/// The processes of the killed tree still alive: members of group `pgid`
/// and the escaped descendants in `others`, zombies excluded.
fn survivors(all: &[ProcStat], pgid: i32, others: &BTreeSet<i32>) -> Vec<i32> {
    all.iter()
        .filter(|s| !s.zombie && (s.pgrp == pgid || others.contains(&s.pid)))
        .map(|s| s.pid)
        .collect()
}

/// Reaps the exited processes of the tree that are our children (orphans
/// reparented to this subreaper), the leader excepted: its `Child` reaps
/// it, so that its status is known and its pid never signalled again.
fn reap(all: &[ProcStat], pgid: i32, others: &BTreeSet<i32>) {
    let me = i32::try_from(std::process::id()).unwrap_or(-1);
    for s in all {
        if s.zombie && s.ppid == me && s.pid != pgid && (s.pgrp == pgid || others.contains(&s.pid))
        {
            let _ = waitpid(Pid::from_raw(s.pid), Some(WaitPidFlag::WNOHANG));
        }
    }
}

/// A process of the engine's tree outlived SIGKILL.
#[derive(Debug, thiserror::Error)]
#[error("process(es) {pids:?} of the engine started as pid {leader} were still alive {timeout:?} after SIGKILL")]
pub struct Survived {
    /// The engine's process (the group leader).
    pub leader: u32,
    /// Those still alive.
    pub pids: Vec<i32>,
    /// How long they were given.
    pub timeout: Duration,
}

/// SIGKILLs `child` (started through [`isolate`]), its whole process
/// group and every descendant that left the group, reaps `child`, and
/// waits until none of them is alive. A process that forks while being
/// killed is killed too: every round sends SIGKILL again to whatever of
/// the tree is found alive.
pub fn kill_tree(child: &mut Child) -> Result<(), Survived> {
    let leader = child.id();
    let pgid = i32::try_from(leader).unwrap_or(i32::MAX);
    // Descendants that left the group are found by parent links, which
    // the kill will break: note them first.
    let mut others = descendants(&processes(), pgid);
    let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
    let _ = child.kill();
    let started = Instant::now();
    loop {
        for &pid in &others {
            // Gone already (ESRCH) is the aim; anything else shows up as a
            // survivor below.
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        let _ = child.try_wait();
        let all = processes();
        reap(&all, pgid, &others);
        let alive = survivors(&all, pgid, &others);
        if alive.is_empty() {
            let _ = child.wait();
            return Ok(());
        }
        if started.elapsed() > DEATH_TIMEOUT {
            return Err(Survived {
                leader,
                pids: alive,
                timeout: DEATH_TIMEOUT,
            });
        }
        let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
        for &pid in &alive {
            others.extend(descendants(&all, pid));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_stat_reads_fields_after_a_command_with_spaces_and_parens() {
        let s = proc_stat("4242 (a (b) c) S 17 4242 4242 0 -1 4194560 1 0").unwrap();
        assert_eq!(
            s,
            ProcStat {
                pid: 4242,
                ppid: 17,
                pgrp: 4242,
                zombie: false
            }
        );
        assert!(proc_stat("7 (x) Z 1 7 7").unwrap().zombie);
        assert_eq!(proc_stat("garbage"), None);
    }

    fn alive(pid: i32) -> bool {
        processes().iter().any(|s| s.pid == pid && !s.zombie)
    }

    fn wait_for_pids(file: &std::path::Path, n: usize) -> Vec<i32> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let pids: Vec<i32> = std::fs::read_to_string(file)
                .unwrap_or_default()
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect();
            if pids.len() >= n || Instant::now() > deadline {
                return pids;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Broke before process groups: a shell that forks its command (and
    /// a child that moved to a session of its own) outlived the kill of
    /// the shell.
    #[test]
    fn the_kill_reaches_forked_children_and_escaped_sessions() {
        let dir = tempfile::tempdir().unwrap();
        let pids = dir.path().join("pids");
        // `; wait` keeps the shell from exec'ing its last command; setsid
        // moves the second sleeper out of the process group.
        let script = format!(
            "sleep 600 & echo $! >> {p}; setsid sleep 600 & echo $! >> {p}; wait",
            p = pids.display()
        );
        let mut cmd = Command::new("sh");
        cmd.args(["-c", &script]);
        isolate(&mut cmd);
        let mut child = cmd.spawn().unwrap();
        let found = wait_for_pids(&pids, 2);
        assert_eq!(found.len(), 2, "the script did not start its sleepers");
        // setsid forks when it leads its group; give it time to settle.
        std::thread::sleep(Duration::from_millis(50));
        let all = processes();
        let tree: Vec<i32> = descendants(&all, child.id() as i32).into_iter().collect();
        assert!(tree.len() >= 2, "descendants not found: {tree:?}");
        kill_tree(&mut child).unwrap();
        for pid in tree {
            assert!(!alive(pid), "pid {pid} of the tree outlived the kill");
        }
    }
}
