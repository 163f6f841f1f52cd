#!/usr/bin/env python3
"""A tiny key-value store that speaks bench-runner's line protocol.

Test it with:

    bench-runner crash --exec 'python3 examples/exec-engine/kv.py fsync' \
        --exec-promise always --disk /mnt/scratch

Protocol (one request per line on stdin, one reply per line on stdout, keys
and values in hex): `put KEY VALUE` -> `ok`; `get KEY` -> `value HEX` or
`none`; `delete KEY` -> `ok`; `sync` -> `ok`; `close` -> `ok` and exit.
Failures reply `err MESSAGE`. The data directory is $BENCH_DIR.

Format: log segments named `seg-NNNNNN.log` in $BENCH_DIR, one record per
line: `p KEYHEX VALUEHEX CRC` or `d KEYHEX CRC`, where CRC is the zlib
CRC-32 of the text before it, in hex. A segment holds at most 16 records;
every start writes to a new segment (it never appends after a possibly torn
tail). Recovery replays the segments in order and stops a segment at its
first line that is incomplete or fails its CRC.

Durability, by the mode given as the first argument:

- `fsync`: each write is fsynced before `ok`. New segment files are never
  made durable by a directory fsync, so after a power cut a whole segment
  (and every acknowledged write in it) can vanish: the "no directory fsync
  anywhere" finding.
- `fsync+dir`: as `fsync`, and the directory is fsynced after a segment is
  created, before anything in it is acknowledged.
- `write`: each write reaches the kernel with write(2) before `ok`, never
  fsynced: survives a process crash, not a power cut (promise `none`).
- `buffered`: acknowledges from a user-space buffer flushed every 8 writes,
  and once more when its input ends (a clean exit): loses acknowledged
  writes to a process crash (a broken engine, for testing the checker). The
  flush at exit is what makes a kill that misses the program look harmless:
  the checker must kill the program, not only the shell that started it.
"""

import os
import sys
import zlib

from lineproto import serve

SEGMENT_RECORDS = 16


class Store:
    def __init__(self, directory, mode):
        self.dir = directory
        self.mode = mode
        self.data = {}
        self.fd = None
        self.records = 0
        self.buffer = []
        os.makedirs(directory, exist_ok=True)
        self.next_segment = self.recover()

    def segments(self):
        return sorted(n for n in os.listdir(self.dir) if n.startswith("seg-") and n.endswith(".log"))

    def recover(self):
        last = -1
        for name in self.segments():
            last = max(last, int(name[4:10]))
            with open(os.path.join(self.dir, name), "rb") as f:
                raw = f.read()
            for line in raw.split(b"\n")[:-1]:  # the part after the last newline is torn
                parts = line.decode("ascii", "replace").split(" ")
                body, crc = " ".join(parts[:-1]), parts[-1]
                if "%08x" % zlib.crc32(body.encode()) != crc:
                    break
                if parts[0] == "p" and len(parts) == 4:
                    self.data[bytes.fromhex(parts[1])] = bytes.fromhex(parts[2])
                elif parts[0] == "d" and len(parts) == 3:
                    self.data.pop(bytes.fromhex(parts[1]), None)
                else:
                    break
        return last + 1

    def open_segment(self):
        path = os.path.join(self.dir, "seg-%06d.log" % self.next_segment)
        self.next_segment += 1
        if self.fd is not None:
            os.close(self.fd)
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        self.records = 0
        if self.mode == "fsync+dir":
            dfd = os.open(self.dir, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)

    def append(self, body):
        if self.fd is None or self.records >= SEGMENT_RECORDS:
            self.flush()
            self.open_segment()
        line = ("%s %08x\n" % (body, zlib.crc32(body.encode()))).encode()
        self.records += 1
        if self.mode == "buffered":
            self.buffer.append(line)
            if len(self.buffer) >= 8:
                self.flush()
            return
        os.write(self.fd, line)
        if self.mode in ("fsync", "fsync+dir"):
            os.fsync(self.fd)

    def flush(self):
        if self.buffer and self.fd is not None:
            os.write(self.fd, b"".join(self.buffer))
        self.buffer = []

    def sync(self):
        self.flush()
        if self.fd is not None:
            os.fsync(self.fd)
        if self.mode == "fsync+dir":
            dfd = os.open(self.dir, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)

    def put(self, key, value):
        self.append("p %s %s" % (key.hex(), value.hex()))
        self.data[key] = value

    def delete(self, key):
        self.append("d %s" % key.hex())
        self.data.pop(key, None)

    def get(self, key):
        return self.data.get(key)

    def close(self):
        self.sync()

    def end_of_input(self):
        # A clean exit writes what is buffered.
        self.flush()


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "fsync+dir"
    if mode not in ("fsync", "fsync+dir", "write", "buffered"):
        sys.exit("usage: kv.py fsync|fsync+dir|write|buffered")
    directory = os.environ.get("BENCH_DIR")
    if not directory:
        sys.exit("kv.py: BENCH_DIR is not set")
    serve(Store(directory, mode))


if __name__ == "__main__":
    main()
