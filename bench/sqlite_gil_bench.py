"""Why SQLite batches go in as one `json_each` statement: the GIL during a batch write.

    .venv/bin/python bench/sqlite_gil_bench.py [--rows 400000]

Writes the same rows into an indexed in-memory table two ways, first alone, then while
another Python thread is busy (as `ecom import`'s reader thread is):
- `executemany` of an INSERT: the sqlite3 module releases the GIL around every row's
  step and must take it back after each, waiting up to the switch interval while the
  busy thread holds it (a convoy);
- one `INSERT ... SELECT ... FROM json_each(?)` of the rows as a JSON array: one step,
  the GIL released throughout, so the other thread runs alongside.
Prints seconds for each, and how fast the busy thread ran meanwhile (iterations/s).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import threading
import time


def fresh() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("CREATE TABLE t (a TEXT PRIMARY KEY, b INTEGER, c TEXT)")
    conn.execute("CREATE INDEX tc ON t (c)")
    return conn


def write(how: str, rows: list[tuple], payload: str) -> float:
    conn = fresh()
    started = time.perf_counter()
    if how == "executemany":
        conn.executemany("INSERT INTO t VALUES (?, ?, ?)", rows)
    else:
        conn.execute(
            "INSERT INTO t SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(?)",
            [payload],
        )
    seconds = time.perf_counter() - started
    conn.close()
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=400_000)
    n = ap.parse_args().rows
    rows = [(f"k{i:08d}", i, f"c{i * 7919 % 5000}") for i in range(n)]
    payload = json.dumps(rows)
    alone = {how: write(how, rows, payload) for how in ("executemany", "json_each")}
    spins = 0
    stop = threading.Event()

    def busy() -> None:
        nonlocal spins
        while not stop.is_set():
            spins += 1

    thread = threading.Thread(target=busy)
    thread.start()
    for how in ("executemany", "json_each"):
        before = spins
        seconds = write(how, rows, payload)
        rate = (spins - before) / seconds
        print(f"{how:<12} alone {alone[how]:6.2f} s   with a busy thread {seconds:6.2f} s "
              f"({seconds / alone[how]:.1f}x; the busy thread ran {rate:,.0f} it/s)")
    stop.set()
    thread.join()


if __name__ == "__main__":
    main()
