"""Many `ecom` processes at once, on every backend: stock is never oversold and an order
is restocked once however many processes cancel it.

Each process imports ecom first, then waits for a barrier file, so that they all start
their command at the same moment.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

import ecomcli
from ecomcli import errors, orders
from ecomcli.records import add_record

pytestmark = pytest.mark.slow

PROCESSES = 8

WAIT_THEN_RUN = """
import os, sys, time
import ecomcli.cli  # the slow part (imports) before the start signal
barrier = sys.argv[1]
open(f"{barrier}.ready.{os.getpid()}", "w").close()
deadline = time.monotonic() + 60
while not os.path.exists(barrier) and time.monotonic() < deadline:
    time.sleep(0.002)
sys.argv = ["ecom", *sys.argv[2:]]
ecomcli.cli.main()
"""


def run_together(tmp_path: Path, commands: list[list[str]]) -> list[subprocess.CompletedProcess]:
    """Start one `ecom` process per command, release them together, wait for all."""
    barrier = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WAIT_THEN_RUN, str(barrier), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in commands
    ]
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("go.ready.*"))) < len(procs) and time.monotonic() < deadline:
        time.sleep(0.01)  # every process has finished importing
    barrier.touch()
    done = []
    for proc, args in zip(procs, commands, strict=True):
        out, err = proc.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(args, proc.returncode, out, err))
    return done


def setup(db_url: str, units: int) -> None:
    with ecomcli.connect(db_url) as store:
        for i in range(PROCESSES):
            add_record(store, "customers", {"customer_id": f"c{i}"})
        add_record(
            store,
            "products",
            {"product_id": "last", "name": "Last ones", "price": "9.99", "units_in_stock": units},
        )


def test_concurrent_buyers_never_oversell(db_url: str, tmp_path: Path) -> None:
    setup(db_url, units=7)
    results = run_together(
        tmp_path,
        [
            [
                "orders",
                "place",
                "--db",
                db_url,
                "-c",
                f"c{i}",
                "-i",
                "last:1",
                "--payment-method",
                "wallet",
            ]
            for i in range(PROCESSES)
        ],
    )
    sold = [r for r in results if r.returncode == 0]
    for r in results:
        assert r.returncode in (0, errors.OUT_OF_STOCK), r.stderr
        if r.returncode == errors.OUT_OF_STOCK:
            assert "line 1 (last:1): out of stock, 0 units left" in r.stderr
    with ecomcli.connect(db_url) as store:
        left = store.require("products", ("last",))["units_in_stock"]
        order_ids = {o["order_id"] for o in store.find("orders")}
        units_on_lines = sum(line["quantity"] for line in store.find("order_items"))
        payments = store.count("payments")
    assert len(sold) == 7 and left == 0  # 7 units for 8 buyers of one: one goes without
    assert order_ids == {r.stdout.strip() for r in sold}
    assert units_on_lines == 7 - left == len(sold)
    assert payments == len(sold)


def test_concurrent_cancels_restock_once(db_url: str, tmp_path: Path) -> None:
    setup(db_url, units=3)
    with ecomcli.connect(db_url) as store:
        placed = orders.place_order(store, orders.OrderRequest("c0", [orders.Line("last", 3)]))
    results = run_together(
        tmp_path,
        [
            ["orders", "set-status", "--db", db_url, placed.order_id, "cancelled"]
            for _ in range(PROCESSES)
        ],
    )
    codes = sorted(r.returncode for r in results)
    assert codes == [0] + [errors.CONFLICT] * (PROCESSES - 1), [r.stderr for r in results]
    with ecomcli.connect(db_url) as store:
        assert store.require("products", ("last",))["units_in_stock"] == 3
        assert store.count("stock_movements", [ecomcli.Filter("reason", "=", "cancel")]) == 1
