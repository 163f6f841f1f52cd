#!/usr/bin/env python3
"""A key-value store that retries fsync after EIO, then acknowledges: the
fsync-failure mistake of "Can Applications Recover from fsync Failures?"
(Rebello et al., ATC'20), which PostgreSQL made until 2018 ("fsyncgate").

Run it with an fsync that fails once per trial:

    bench-runner crash --fs fuse --fsync-eio --profile ext4-ordered \
        --exec 'python3 examples/exec-engine/retry_fsync.py' --exec-promise always

On ext4 (data=ordered) and xfs a failed fsync marks the dirty pages clean:
the data never reaches the disk, and the retried fsync reports success
having written nothing. The write acknowledged after the retry is lost in
the next power cut, so the line is BROKEN. On btrfs the file reverts to its
on-disk state, so the write is lost as well. On ext4 data=journal the error
surfaces one fsync late, after the data reached the journal, and the retry
happens to work. The right answer to EIO is to fail the write and stop
accepting writes, as the suite's engines do (Poisoned).

Protocol (one request per line on stdin, one reply per line on stdout, keys
and values in hex): `put KEY VALUE` -> `ok`; `get KEY` -> `value HEX` or
`none`; `delete KEY` -> `ok`; `sync` -> `ok`; `close` -> `ok` and exit.
Failures reply `err MESSAGE`. The data directory is $BENCH_DIR.

Format: one file, `data.log`, one record per line: `p KEYHEX VALUEHEX CRC`
or `d KEYHEX CRC`, where CRC is the zlib CRC-32 of the text before it, in
hex. Recovery replays the lines in order and stops at the first line that
is incomplete or fails its CRC. Durability: every write is fsynced before
`ok` (retried until fsync reports success), and the directory is fsynced
once the file is created.
"""

import errno
import os
import sys
import zlib

from lineproto import serve

RETRIES = 100


def fsync_until_ok(fd):
    """The mistake: treat EIO as transient and call fsync again."""
    for _ in range(RETRIES):
        try:
            os.fsync(fd)
            return
        except OSError as e:
            if e.errno != errno.EIO:
                raise
    raise OSError(errno.EIO, "fsync kept failing")


class Store:
    def __init__(self, directory):
        self.data = {}
        self.path = os.path.join(directory, "data.log")
        created = not os.path.exists(self.path)
        if not created:
            self.recover()
        # Never append after a torn or corrupt tail: rewrite what recovered.
        tmp = self.path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, b"".join(self.record_put(k, v) for k, v in self.data.items()))
        fsync_until_ok(fd)
        os.close(fd)
        os.rename(tmp, self.path)
        dfd = os.open(directory, os.O_RDONLY)
        try:
            fsync_until_ok(dfd)
        finally:
            os.close(dfd)
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)

    def recover(self):
        with open(self.path, "rb") as f:
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

    @staticmethod
    def record(body):
        return ("%s %08x\n" % (body, zlib.crc32(body.encode()))).encode()

    def record_put(self, key, value):
        return self.record("p %s %s" % (key.hex(), value.hex()))

    def append(self, line):
        os.write(self.fd, line)
        fsync_until_ok(self.fd)

    def put(self, key, value):
        self.append(self.record_put(key, value))
        self.data[key] = value

    def delete(self, key):
        self.append(self.record("d %s" % key.hex()))
        self.data.pop(key, None)

    def sync(self):
        fsync_until_ok(self.fd)

    def get(self, key):
        return self.data.get(key)

    def close(self):
        self.sync()


def main():
    directory = os.environ.get("BENCH_DIR")
    if not directory:
        sys.exit("retry_fsync.py: BENCH_DIR is not set")
    serve(Store(directory))


if __name__ == "__main__":
    main()
