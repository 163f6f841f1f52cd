#!/usr/bin/env python3
"""SQLite behind bench-runner's line protocol, to check SQLite's documented
durability with the crash simulator.

    bench-runner crash --fs fuse --profile both --trials 40 \
        --exec 'python3 examples/exec-engine/sqlite_kv.py wal full' \
        --exec-promise always

Arguments: the journal mode (`delete`, `truncate`, `persist` or `wal`) and
the `synchronous` level (`off`, `normal`, `full` or `extra`). The database is
`kv.db` in $BENCH_DIR, one table `kv(k BLOB PRIMARY KEY, v BLOB)`; every put
and delete is one autocommit transaction, acknowledged with `ok` once
SQLite's COMMIT returned. `sync` makes every commit so far durable: a passive
checkpoint in WAL mode (which syncs the WAL first), a directory fsync in the
rollback modes (the journal's removal commits), and `err` under
`synchronous=off`, which never syncs (in WAL mode the checkpoint still
runs first, so that its unsynced copy into the database is exercised: the
default auto-checkpoint, at 1,000 pages, never fires in a short trial).

What SQLite documents (https://www.sqlite.org/pragma.html#pragma_synchronous):

- `full`: in WAL mode, durable. In rollback (delete) mode, "a transaction
  committed ... might roll back following a power loss", because the journal
  file's unlink, which commits, is not followed by a directory sync.
- `extra`: as `full`, and in rollback mode the directory is synced after the
  journal is unlinked: durable.
- `normal`: in WAL mode, "a transaction committed ... might roll back
  following a power loss" (the WAL is synced only at checkpoints); consistent.
- `off`: no syncs at all; a power loss may lose anything not checkpointed.

Use `--exec-promise always` for `full` and `extra`, `none` for `normal` and
`off`.
"""

import os
import sqlite3
import sys

from lineproto import Refused, serve

JOURNAL_MODES = ("delete", "truncate", "persist", "wal")
SYNCHRONOUS = ("off", "normal", "full", "extra")


class Store:
    """One SQLite database, one autocommit transaction per write."""

    def __init__(self, directory, journal, synchronous):
        self.directory = directory
        self.journal = journal
        self.synchronous = synchronous
        self.db = sqlite3.connect(os.path.join(directory, "kv.db"), isolation_level=None)
        self.db.execute("PRAGMA journal_mode=%s" % journal)
        self.db.execute("PRAGMA synchronous=%s" % synchronous)
        self.db.execute("CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL)")

    def put(self, key, value):
        self.db.execute("INSERT OR REPLACE INTO kv VALUES (?, ?)", (key, value))

    def get(self, key):
        row = self.db.execute("SELECT v FROM kv WHERE k = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def delete(self, key):
        self.db.execute("DELETE FROM kv WHERE k = ?", (key,))

    def sync(self):
        """Makes every commit so far durable, or says why it cannot."""
        if self.journal == "wal":
            # A checkpoint syncs the WAL before copying it into the database
            # (at every synchronous level but off), then syncs the database.
            # Under off it still runs, so that its unsynced copy is exercised.
            self.db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        if self.synchronous == "off":
            raise Refused("synchronous=off never syncs")
        if self.journal != "wal":
            # Rollback modes commit by deleting, truncating or zeroing the
            # journal; the database file was synced before that. Syncing the
            # directory makes a deleted journal's absence durable too.
            fd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def close(self):
        self.db.close()

    def end_of_input(self):
        # The checker's connection went away without `close`: close cleanly,
        # as any well-behaved server does. A checkpoint and the WAL's unlink
        # run here, which is why the kill must reach this process.
        self.db.close()


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in JOURNAL_MODES or sys.argv[2] not in SYNCHRONOUS:
        sys.exit("usage: sqlite_kv.py %s %s" % ("|".join(JOURNAL_MODES), "|".join(SYNCHRONOUS)))
    directory = os.environ.get("BENCH_DIR")
    if not directory:
        sys.exit("sqlite_kv.py: BENCH_DIR is not set")
    store = Store(directory, sys.argv[1], sys.argv[2])
    serve(store, errors=(sqlite3.Error, OSError, ValueError, IndexError))


if __name__ == "__main__":
    main()
