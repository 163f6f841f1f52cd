"""bench-runner's line protocol, served for any store: the loop shared by
the example engines in this folder (each imports it from its own folder).

One request per line on stdin, one reply per line on stdout, keys and
values in hex:

    put KEY VALUE  -> ok | err MESSAGE     (ok: the write is acknowledged)
    get KEY        -> value HEX | none | err MESSAGE
    delete KEY     -> ok | err MESSAGE
    sync           -> ok | err MESSAGE     (ok: everything acknowledged is durable)
    close          -> ok, then exit

`serve(store)` calls `store.put(key, value)`, `store.get(key)` (bytes or
None), `store.delete(key)`, `store.sync()` and `store.close()`; an exception
of a type in `errors`, or `Refused`, becomes `err MESSAGE`. When stdin ends
without `close` (the checker went away), `store.end_of_input()` runs if the
store has one: a clean exit.
"""

import sys


class Refused(Exception):
    """A request the store declines, answered `err MESSAGE`."""


def serve(store, errors=(OSError, ValueError, IndexError)):
    out = sys.stdout
    for line in sys.stdin:
        words = line.split()
        try:
            if not words:
                reply = "err empty request"
            elif words[0] == "put":
                store.put(bytes.fromhex(words[1]), bytes.fromhex(words[2] if len(words) > 2 else ""))
                reply = "ok"
            elif words[0] == "get":
                value = store.get(bytes.fromhex(words[1]))
                reply = "none" if value is None else "value " + value.hex()
            elif words[0] == "delete":
                store.delete(bytes.fromhex(words[1]))
                reply = "ok"
            elif words[0] == "sync":
                store.sync()
                reply = "ok"
            elif words[0] == "close":
                store.close()
                out.write("ok\n")
                out.flush()
                return
            else:
                reply = "err unknown request " + words[0]
        except (Refused,) + tuple(errors) as e:
            reply = "err " + str(e).replace("\n", " ")
        out.write(reply + "\n")
        out.flush()
    end = getattr(store, "end_of_input", None)
    if end is not None:
        end()
