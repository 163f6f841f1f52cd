#!/usr/bin/env python3
"""A key-value store whose recovery is not crash-safe (a broken engine, for
testing the checker).

Test it with:

    bench-runner crash --fs fuse --exec 'python3 examples/exec-engine/rewrite_on_start.py' \
        --exec-promise always

It speaks the same line protocol as kv.py (see there). While running it is
careful: one log file, `kv.log`, created once and made durable by a
directory fsync; each put or delete is one appended line
(`p KEYHEX VALUEHEX CRC` or `d KEYHEX CRC`, CRC the zlib CRC-32 of the text
before it, in hex), fsynced before `ok`. So a power cut while it runs loses
nothing acknowledged.

Its start is where it breaks: it compacts the log in place. It reads the
log, truncates the file to nothing, fsyncs, then writes the live records
back and fsyncs again. A power cut between those two fsyncs (the crash of
a recovery right after its first sync) leaves an empty, durable log: every
write acknowledged before the first crash is gone. A crash-safe compaction
writes a new file, fsyncs it, renames it over the old one and fsyncs the
directory. Only trials that crash a recovery, or run a second epoch and
crash its recovery, can see the difference.
"""

import os
import sys
import zlib

from lineproto import serve


def crc(body):
    return "%08x" % zlib.crc32(body.encode())


def fsync_dir(directory):
    dfd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


class Store:
    def __init__(self, directory):
        self.path = os.path.join(directory, "kv.log")
        self.data = {}
        if not os.path.exists(self.path):
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            os.fsync(fd)
            os.close(fd)
            fsync_dir(directory)
        self.replay()
        self.fd = os.open(self.path, os.O_RDWR | os.O_APPEND)
        self.compact_in_place()

    def replay(self):
        with open(self.path, "rb") as f:
            raw = f.read()
        for line in raw.split(b"\n")[:-1]:  # the part after the last newline is torn
            parts = line.decode("ascii", "replace").split(" ")
            if crc(" ".join(parts[:-1])) != parts[-1]:
                break
            if parts[0] == "p" and len(parts) == 4:
                self.data[bytes.fromhex(parts[1])] = bytes.fromhex(parts[2])
            elif parts[0] == "d" and len(parts) == 3:
                self.data.pop(bytes.fromhex(parts[1]), None)
            else:
                break

    def compact_in_place(self):
        # The bug: the old records are gone for good before the new ones
        # are durable.
        os.ftruncate(self.fd, 0)
        os.fsync(self.fd)
        for key, value in sorted(self.data.items()):
            self.append("p %s %s" % (key.hex(), value.hex()), sync=False)
        os.fsync(self.fd)

    def append(self, body, sync=True):
        os.write(self.fd, ("%s %s\n" % (body, crc(body))).encode())
        if sync:
            os.fsync(self.fd)

    def put(self, key, value):
        self.append("p %s %s" % (key.hex(), value.hex()))
        self.data[key] = value

    def get(self, key):
        return self.data.get(key)

    def delete(self, key):
        self.append("d %s" % key.hex())
        self.data.pop(key, None)

    def sync(self):
        os.fsync(self.fd)

    def close(self):
        os.fsync(self.fd)


def main():
    directory = os.environ.get("BENCH_DIR")
    if not directory:
        sys.exit("rewrite_on_start.py: BENCH_DIR is not set")
    serve(Store(directory))


if __name__ == "__main__":
    main()
