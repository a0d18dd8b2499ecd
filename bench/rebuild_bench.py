"""Time a from-scratch rebuild of every report summary, kind by kind, on an existing store
(what the first reports after `init-db` on a store written around ecom pay; after an
`ecom import` the marks make the same rebuilds).

    .venv/bin/python bench/rebuild_bench.py --db sqlite:////tmp/copy-of-big.db
    .venv/bin/python bench/rebuild_bench.py --db mysql://root@127.0.0.1/shop --rounds 2
    .venv/bin/python bench/rebuild_bench.py --db sqlite:////tmp/just-imported.db --as-is
    .venv/bin/python bench/rebuild_bench.py --db sqlite:////tmp/big.db --beside --kinds pairs

`--empty`: the summary tables emptied before each round, as in a store whose summaries
ecom never built (`init-db` on a store written around ecom). `--as-is`: one round
without forgetting first, as the first reports after an import pay
(a store that an earlier ecom imported holds marks that this one would not write).
`--server-pid`: a MySQL server's process on this machine, whose CPU time each round
reports (else this process's and its children's: SQLite's second readers); the rounds'
CPU seconds over their wall time say how much of the machine's cores a rebuild keeps
busy. `--beside` (SQLite): each kind rebuilt as a build beside an import rebuilds it (one core,
into a scratch file, the store attached: `backends/build_beside.py`); the store is only
read; `--together`: the kinds by one build, as an import's child builds those ready
together (months, customers and pairs share one read of the sales). `--kinds`: only
those summaries.

It writes the summary tables: run it on a copy of a store.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import ecomcli  # first: the MySQL C extension must load before ssl
from ecomcli.backends import summaries


def rebuild(store: object, kinds: list[str], *, forget: bool = True) -> dict[str, float]:
    """Seconds per summary kind, after forgetting every one (`forget`)."""
    if forget:
        summaries.forget(store)  # type: ignore[arg-type]
    took = {}
    for kind in kinds:
        t = time.perf_counter()
        summaries.refresh(store, (kind,))  # type: ignore[arg-type]
        took[kind] = time.perf_counter() - t
    return took


def beside(store: object, kinds: list[str], *, together: bool = False) -> dict[str, float]:
    """Seconds per summary kind, each built by `build_beside.build` into a scratch file
    (`together`: all of them by one build, as an import's child builds those ready)."""
    from ecomcli.backends import build_beside

    took = {}
    for group in [kinds] if together else [[k] for k in kinds]:
        handle, name = tempfile.mkstemp(prefix="ecom-build-", suffix=".db")
        os.close(handle)
        t = time.perf_counter()
        build_beside.build(Path(name), store.path, os.getppid(), group)  # type: ignore[attr-defined]
        took["+".join(group)] = time.perf_counter() - t
        build_beside._remove(Path(name))
    return took


def empty(store: object, kinds: list[str]) -> None:
    """Every row of the summary tables of `kinds` gone: on MySQL by TRUNCATE, which
    leaves InnoDB no deleted rows to purge during the next round."""
    clear = "TRUNCATE TABLE" if getattr(store, "backend", "") == "mysql" else "DELETE FROM"
    with store.transaction():  # type: ignore[attr-defined]
        for table in dict.fromkeys(t for k in kinds for t in summaries.TABLES_OF[k]):
            store.execute(f"{clear} {table}").close()  # type: ignore[attr-defined]


def cpu_seconds(server_pid: int | None) -> float:
    """CPU seconds used so far by the process `server_pid` (a MySQL server on this
    machine), or by this process and its children (SQLite's second readers)."""
    if server_pid:
        # (after the command's name: state, ppid, ... utime and stime are fields 12, 13)
        fields = Path(f"/proc/{server_pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    used = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in used)


def settle(store: object, most: float = 600) -> float:
    """MySQL: seconds waited for InnoDB to purge the rows an earlier run deleted (its
    purge threads would otherwise take a core from this run). Other stores: 0."""
    if getattr(store, "backend", "") != "mysql":
        return 0.0
    started = time.perf_counter()
    while time.perf_counter() - started < most:
        cur = store.execute(  # type: ignore[attr-defined]
            "SELECT count FROM information_schema.INNODB_METRICS"
            " WHERE name = 'trx_rseg_history_len'"
        )
        row = cur.fetchone()
        cur.close()
        if row is None or row[0] < 1000:
            break
        time.sleep(1)
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--as-is", action="store_true", help="one round, forgetting nothing")
    ap.add_argument("--empty", action="store_true", help="the summary tables emptied first")
    ap.add_argument("--beside", action="store_true", help="as beside an import (SQLite)")
    ap.add_argument("--together", action="store_true",
                    help="--beside: the kinds built by one child, as an import's are")
    ap.add_argument("--server-pid", type=int, help="a MySQL server's pid, for its CPU time")
    ap.add_argument("--kinds", nargs="+", choices=list(summaries.BUILT),
                    default=list(summaries.BUILT))
    args = ap.parse_args()
    with ecomcli.connect(args.db) as store:
        for n in range(1 if args.as_is else args.rounds):
            if not args.beside:
                if args.empty:
                    empty(store, args.kinds)
                print(f"waited {settle(store):.0f} s for the server to purge", flush=True)
            cpu = cpu_seconds(args.server_pid)
            if args.beside:
                took = beside(store, args.kinds, together=args.together)
            else:
                took = rebuild(store, args.kinds, forget=not args.as_is)
            cpu = cpu_seconds(args.server_pid) - cpu
            parts = ", ".join(f"{k} {v:.2f}" for k, v in took.items())
            wall = sum(took.values())
            print(f"round {n + 1}: all {wall:.2f} s ({parts}); CPU {cpu:.1f} s,"
                  f" {cpu / wall:.2f} cores", flush=True)


if __name__ == "__main__":
    main()
