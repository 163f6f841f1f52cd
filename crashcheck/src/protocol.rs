//! The line protocol between the checker and an engine in another process.
//!
//! ## Format
//!
//! One request per line on the engine's stdin, one reply per line on its
//! stdout, keys and values in lowercase or uppercase hex (an empty value is
//! an empty hex string):
//!
//! | request | replies |
//! |---|---|
//! | `put KEY VALUE` | `ok` (the write is acknowledged), `err MESSAGE` |
//! | `get KEY` | `value HEX`, `none`, `err MESSAGE` |
//! | `delete KEY` | `ok` (the delete is acknowledged), `err MESSAGE` |
//! | `sync` | `ok` (everything acknowledged so far is durable), `err MESSAGE` |
//! | `close` | `ok`, then the program exits |
//!
//! The program finds its data directory in the environment variable
//! `BENCH_DIR`. Anything it prints on stderr is kept for error messages.
//!
//! ### Writer tags (our `crash-child` only)
//!
//! A request may start with a writer tag, `@W ` (`W` a name without
//! spaces: `@2 put 6b31 7631`). [`serve`] hands each writer's requests to
//! a thread of that writer, in order, and its reply comes back with the
//! same tag (`@2 ok`), whenever it is ready: requests of different writers
//! run at once in the engine, so group commit can gather them. The
//! checker keeps at most one request per writer in flight, and sends no
//! untagged request while tagged ones are. External `--exec` programs are
//! never sent tags.
//!
//! ## Durability
//!
//! An `ok` to `put` or `delete` is the acknowledgement the checker holds to
//! the promise the program claims (`--exec-promise`). A program killed
//! between reading a request and answering it has not acknowledged it: the
//! write may or may not survive, both are accepted.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use engines::Engine;

/// How long a reply may take before the engine is declared hung.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(20);

/// A request to the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Write `value` under `key`.
    Put(Vec<u8>, Vec<u8>),
    /// Read `key`.
    Get(Vec<u8>),
    /// Delete `key`.
    Delete(Vec<u8>),
    /// Make everything acknowledged so far durable.
    Sync,
    /// Close and exit.
    Close,
}

/// A reply from the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Done (acknowledged, for a write).
    Ok,
    /// The value of the key read.
    Value(Vec<u8>),
    /// The key has no value.
    None,
    /// The request failed.
    Err(String),
}

/// What went wrong talking to an engine process.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A line that is not a request or reply.
    #[error("malformed line {line:?}: {reason}")]
    Malformed {
        /// The line.
        line: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The process could not be started or talked to.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
    /// The process closed its stdout (exited or died).
    #[error("the engine process closed its output{stderr}")]
    Closed {
        /// The end of its stderr, prefixed with `; stderr: `, or empty.
        stderr: String,
    },
    /// No reply in [`REPLY_TIMEOUT`].
    #[error("the engine process did not reply within {} s", REPLY_TIMEOUT.as_secs())]
    Timeout,
}

/// Lowercase hex of `b`.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The bytes of a hex string.
pub fn unhex(s: &str) -> Result<Vec<u8>, String> {
    if s.len() % 2 != 0 {
        return Err(format!("odd number of hex digits in {s:?}"));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2)
                .and_then(|d| u8::from_str_radix(d, 16).ok())
                .ok_or_else(|| format!("not hex: {s:?}"))
        })
        .collect()
}

fn malformed(line: &str, reason: impl Into<String>) -> ProtocolError {
    ProtocolError::Malformed {
        line: line.to_string(),
        reason: reason.into(),
    }
}

impl Request {
    /// The request as one line, without the newline.
    pub fn to_line(&self) -> String {
        match self {
            Request::Put(k, v) => format!("put {} {}", hex(k), hex(v)),
            Request::Get(k) => format!("get {}", hex(k)),
            Request::Delete(k) => format!("delete {}", hex(k)),
            Request::Sync => "sync".into(),
            Request::Close => "close".into(),
        }
    }

    /// Parses one request line.
    pub fn parse(line: &str) -> Result<Request, ProtocolError> {
        let mut w = line.split(' ');
        let word = w.next().unwrap_or_default();
        let mut arg = |what: &str| -> Result<Vec<u8>, ProtocolError> {
            let a = w
                .next()
                .ok_or_else(|| malformed(line, format!("{word} needs {what}")))?;
            unhex(a).map_err(|e| malformed(line, e))
        };
        let r = match word {
            "put" => {
                let k = arg("a key")?;
                // An empty value is an empty hex string (`put 6b31 `) or absent.
                let v = if line.matches(' ').count() >= 2 {
                    arg("a value")?
                } else {
                    Vec::new()
                };
                Request::Put(k, v)
            }
            "get" => Request::Get(arg("a key")?),
            "delete" => Request::Delete(arg("a key")?),
            "sync" => Request::Sync,
            "close" => Request::Close,
            _ => return Err(malformed(line, "expected put, get, delete, sync or close")),
        };
        Ok(r)
    }
}

impl Reply {
    /// The reply as one line, without the newline (newlines in an error
    /// message become spaces).
    pub fn to_line(&self) -> String {
        match self {
            Reply::Ok => "ok".into(),
            Reply::Value(v) => format!("value {}", hex(v)),
            Reply::None => "none".into(),
            Reply::Err(m) => format!("err {}", m.replace(['\n', '\r'], " ")),
        }
    }

    /// Parses one reply line.
    pub fn parse(line: &str) -> Result<Reply, ProtocolError> {
        let line = line.trim_end_matches('\r');
        match line.split_once(' ') {
            None if line == "ok" => Ok(Reply::Ok),
            None if line == "none" => Ok(Reply::None),
            None if line == "value" => Ok(Reply::Value(Vec::new())),
            None if line == "err" => Ok(Reply::Err(String::new())),
            Some(("value", h)) => unhex(h.trim())
                .map(Reply::Value)
                .map_err(|e| malformed(line, e)),
            Some(("err", m)) => Ok(Reply::Err(m.to_string())),
            _ => Err(malformed(
                line,
                "expected ok, value HEX, none or err MESSAGE",
            )),
        }
    }
}

/// Splits a writer tag off a line: `@2 put ...` is `(Some("2"), "put ...")`.
pub fn split_tag(line: &str) -> (Option<&str>, &str) {
    match line.strip_prefix('@').and_then(|l| l.split_once(' ')) {
        Some((tag, rest)) => (Some(tag), rest),
        None => (None, line),
    }
}

/// Serves the protocol for `engine` until `close` or the end of `input`.
/// Engines without point reads answer `get` from their replayed log.
/// Tagged requests ([writer tags](self#writer-tags-our-crash-child-only))
/// run on one thread per writer; `close` waits for them first.
pub fn serve(
    engine: &dyn Engine,
    input: impl BufRead,
    output: impl Write + Send,
) -> std::io::Result<()> {
    let output = Mutex::new(output);
    let reply = |tag: Option<&str>, r: &Reply| -> std::io::Result<()> {
        let mut out = output.lock().unwrap_or_else(|p| p.into_inner());
        match tag {
            Some(t) => writeln!(out, "@{t} {}", r.to_line())?,
            None => writeln!(out, "{}", r.to_line())?,
        }
        out.flush()
    };
    std::thread::scope(|scope| {
        let mut writers: HashMap<String, mpsc::Sender<String>> = HashMap::new();
        let mut threads = Vec::new();
        for line in input.lines() {
            let line = line?;
            if let (Some(tag), rest) = split_tag(&line) {
                let tx = writers.entry(tag.to_string()).or_insert_with(|| {
                    let (tx, rx) = mpsc::channel::<String>();
                    let tag = tag.to_string();
                    let reply = &reply;
                    threads.push(scope.spawn(move || -> std::io::Result<()> {
                        for line in rx {
                            let r = match Request::parse(&line) {
                                Err(e) => Reply::Err(e.to_string()),
                                Ok(Request::Close) => {
                                    Reply::Err("close is not a request of one writer".into())
                                }
                                Ok(req) => answer(engine, req),
                            };
                            reply(Some(&tag), &r)?;
                        }
                        Ok(())
                    }));
                    tx
                });
                // A writer thread gone means its output failed: reported at join.
                let _ = tx.send(rest.to_string());
                continue;
            }
            let r = match Request::parse(&line) {
                Err(e) => Reply::Err(e.to_string()),
                Ok(Request::Close) => {
                    writers.clear();
                    for t in threads.drain(..) {
                        join_writer(t)?;
                    }
                    let r = match engine.close() {
                        Ok(()) => Reply::Ok,
                        Err(e) => Reply::Err(e.to_string()),
                    };
                    return reply(None, &r);
                }
                Ok(req) => answer(engine, req),
            };
            reply(None, &r)?;
        }
        writers.clear();
        for t in threads {
            join_writer(t)?;
        }
        Ok(())
    })
}

fn join_writer(t: std::thread::ScopedJoinHandle<'_, std::io::Result<()>>) -> std::io::Result<()> {
    t.join()
        .unwrap_or_else(|_| Err(std::io::Error::other("a writer thread panicked")))
}

fn answer(engine: &dyn Engine, req: Request) -> Reply {
    let r = match req {
        Request::Put(k, v) => engine.put(&k, &v).map(|()| Reply::Ok),
        Request::Delete(k) => engine.delete(&k).map(|()| Reply::Ok),
        Request::Sync => engine.sync().map(|()| Reply::Ok),
        Request::Get(k) if engine.capabilities().point_reads => engine
            .get(&k)
            .map(|v| v.map(Reply::Value).unwrap_or(Reply::None)),
        Request::Get(k) => engine.replay(0).map(|ops| {
            ops.into_iter()
                .rfind(|o| o.key == k)
                .and_then(|o| o.value)
                .map(Reply::Value)
                .unwrap_or(Reply::None)
        }),
        Request::Close => Ok(Reply::Ok),
    };
    r.unwrap_or_else(|e| Reply::Err(e.to_string()))
}

/// An engine process spoken to over the protocol.
#[derive(Debug)]
pub struct EngineProcess {
    child: Child,
    /// Whether the process tree was killed already (its pid and group
    /// may belong to someone else by now).
    killed: bool,
    stdin: Option<ChildStdin>,
    replies: Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl EngineProcess {
    /// Starts `command` with piped stdin, stdout and stderr.
    /// The process leads a process group of its own, so that
    /// [`EngineProcess::kill`] reaches everything it starts
    /// ([`crate::kill`]).
    pub fn spawn(mut command: Command) -> Result<Self, ProtocolError> {
        crate::kill::isolate(&mut command);
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| ProtocolError::Io {
                what: format!("start {command:?}"),
                source,
            })?;
        let stdin = child.stdin.take();
        let (tx, replies) = mpsc::channel();
        if let Some(out) = child.stdout.take() {
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(mut err) = child.stderr.take() {
            let keep = stderr.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = err.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut s) = keep.lock() {
                        s.push_str(&String::from_utf8_lossy(&buf[..n]));
                        // Keep the tail only.
                        if s.len() > 8192 {
                            let cut = s.len() - 4096;
                            let cut = (cut..s.len()).find(|&i| s.is_char_boundary(i)).unwrap_or(0);
                            s.drain(..cut);
                        }
                    }
                }
            });
        }
        Ok(EngineProcess {
            child,
            killed: false,
            stdin,
            replies,
            stderr,
        })
    }

    /// Sends one request without waiting for its reply.
    pub fn send(&mut self, req: &Request) -> Result<(), ProtocolError> {
        let r = match self.stdin.as_mut() {
            Some(stdin) => writeln!(stdin, "{}", req.to_line()).and_then(|()| stdin.flush()),
            None => Err(std::io::ErrorKind::BrokenPipe.into()),
        };
        r.map_err(|_| self.closed())
    }

    /// Waits for the next reply.
    pub fn reply(&mut self) -> Result<Reply, ProtocolError> {
        match self.replies.recv_timeout(REPLY_TIMEOUT) {
            Ok(line) => Reply::parse(&line),
            Err(RecvTimeoutError::Timeout) => Err(ProtocolError::Timeout),
            Err(RecvTimeoutError::Disconnected) => Err(self.closed()),
        }
    }

    /// Sends one request tagged for writer `tag` ([writer
    /// tags](self#writer-tags-our-crash-child-only)) without waiting.
    pub fn send_tagged(&mut self, tag: u64, req: &Request) -> Result<(), ProtocolError> {
        let r = match self.stdin.as_mut() {
            Some(stdin) => writeln!(stdin, "@{tag} {}", req.to_line()).and_then(|()| stdin.flush()),
            None => Err(std::io::ErrorKind::BrokenPipe.into()),
        };
        r.map_err(|_| self.closed())
    }

    /// Waits for the next reply of any writer: its tag and the reply.
    pub fn tagged_reply(&mut self) -> Result<(u64, Reply), ProtocolError> {
        let line = match self.replies.recv_timeout(REPLY_TIMEOUT) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => return Err(ProtocolError::Timeout),
            Err(RecvTimeoutError::Disconnected) => return Err(self.closed()),
        };
        match split_tag(&line) {
            (Some(tag), rest) => {
                let tag = tag
                    .parse()
                    .map_err(|_| malformed(&line, "a writer tag the checker never sent"))?;
                Ok((tag, Reply::parse(rest)?))
            }
            (None, _) => Err(malformed(&line, "an untagged reply to tagged requests")),
        }
    }

    /// Sends a request and waits for its reply.
    pub fn request(&mut self, req: &Request) -> Result<Reply, ProtocolError> {
        self.send(req)?;
        self.reply()
    }

    /// SIGKILLs the process, its process group and every descendant, and
    /// returns once none of them is alive (the process is reaped): nothing
    /// it started can write after this.
    pub fn kill(&mut self) -> Result<(), ProtocolError> {
        if std::mem::replace(&mut self.killed, true) {
            return Ok(());
        }
        crate::kill::kill_tree(&mut self.child).map_err(|e| ProtocolError::Io {
            what: "kill the engine".into(),
            source: std::io::Error::other(e.to_string()),
        })
    }

    /// Sends `close`, waits for its reply and for the process to exit
    /// (killing it if it does not).
    pub fn close(mut self) -> Result<(), ProtocolError> {
        let r = self.request(&Request::Close);
        self.stdin = None;
        let r = match r {
            Ok(Reply::Ok) => Ok(()),
            Ok(other) => Err(malformed(
                &other.to_line(),
                "close answered with something other than ok",
            )),
            Err(e) => Err(e),
        };
        self.kill()?;
        r
    }

    /// The end of what the process printed on stderr.
    pub fn stderr_tail(&self) -> String {
        self.stderr
            .lock()
            .map(|s| {
                s.trim()
                    .lines()
                    .rev()
                    .take(5)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<Vec<_>>()
                    .join(" / ")
            })
            .unwrap_or_default()
    }

    fn closed(&self) -> ProtocolError {
        // Give the stderr reader a moment to catch the last words.
        std::thread::sleep(Duration::from_millis(20));
        let tail = self.stderr_tail();
        ProtocolError::Closed {
            stderr: if tail.is_empty() {
                String::new()
            } else {
                format!("; stderr: {tail}")
            },
        }
    }
}

impl Drop for EngineProcess {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_replies_round_trip() {
        for r in [
            Request::Put(b"k1".to_vec(), b"v\n1".to_vec()),
            Request::Put(b"k1".to_vec(), Vec::new()),
            Request::Get(vec![0, 255]),
            Request::Delete(b"x".to_vec()),
            Request::Sync,
            Request::Close,
        ] {
            assert_eq!(Request::parse(&r.to_line()).unwrap(), r);
        }
        for r in [
            Reply::Ok,
            Reply::None,
            Reply::Value(b"abc".to_vec()),
            Reply::Err("disk full".into()),
        ] {
            assert_eq!(Reply::parse(&r.to_line()).unwrap(), r);
        }
        assert_eq!(
            Reply::parse("value 0A0b").unwrap(),
            Reply::Value(vec![10, 11])
        );
    }

    #[test]
    fn tagged_requests_run_per_writer_and_close_waits_for_them() {
        let dir = tempfile::tempdir().unwrap();
        let info = engines::registry::info("bitcask").unwrap();
        let cfg = || engines::EngineConfig::new(dir.path(), "group".parse().unwrap());
        let engine = info.open(cfg()).unwrap();
        let input =
            "@1 put 6b31 7631\n@2 put 6b32 7632\n@1 delete 6b33\n@x frob\n@2 close\nclose\n";
        let mut out = Vec::new();
        serve(&*engine, input.as_bytes(), &mut out).unwrap();
        drop(engine);
        let text = String::from_utf8(out).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.pop(), Some("ok"), "close answers last: {text}");
        lines.sort_unstable();
        assert_eq!(lines.len(), 5, "{text}");
        assert_eq!(
            &lines[..3],
            [
                "@1 ok",
                "@1 ok",
                "@2 err close is not a request of one writer"
            ]
        );
        assert!(
            lines[3] == "@2 ok" && lines[4].starts_with("@x err "),
            "{text}"
        );
        // `close` waited for both writers: both puts are in the store.
        let engine = info.open(cfg()).unwrap();
        assert_eq!(engine.get(b"k1").unwrap(), Some(b"v1".to_vec()));
        assert_eq!(engine.get(b"k2").unwrap(), Some(b"v2".to_vec()));
        assert_eq!(split_tag("@7 ok"), (Some("7"), "ok"));
        assert_eq!(split_tag("ok"), (None, "ok"));
    }

    #[test]
    fn malformed_lines_are_errors() {
        for l in ["", "put", "put zz 00", "get 123", "frobnicate 00"] {
            assert!(Request::parse(l).is_err(), "{l:?}");
        }
        for l in ["", "yes", "value xyz", "ok ok"] {
            assert!(Reply::parse(l).is_err(), "{l:?}");
        }
    }
}
