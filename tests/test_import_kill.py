"""An import killed half-way (SIGKILL) and re-run ends exactly as one clean run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import ecomcli
from ecomcli.schema import ENTITIES

ECOM = str(Path(sys.executable).parent / "ecom")
MAPPING = """
date_format = "%m/%d/%Y %H:%M"
[customers]
customer_id = { column = "CustomerID", as_int = true }
[products]
product_id = "StockCode"
name = "Description"
price = "UnitPrice"
[orders]
order_id = "InvoiceNo"
customer_id = { column = "CustomerID", as_int = true }
purchased_at = "InvoiceDate"
[order_items]
order_id = "InvoiceNo"
line_no = { sequence = "InvoiceNo" }
product_id = "StockCode"
quantity = "Quantity"
unit_price = "UnitPrice"
"""


def flat_sales(path: Path, lines: int) -> None:
    with path.open("w") as fh:
        fh.write("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID\n")
        for i in range(lines):
            invoice = 500000 + i // 4
            product = i % 97
            fh.write(
                f"{invoice},S{product},Item {product},{1 + i % 5},12/1/2010 8:{invoice % 60:02d},"
                f"{product}.{product % 7}5,{17000 + invoice % 300}.0\n"
            )


def snapshot(url: str) -> dict[str, list[dict]]:
    with ecomcli.connect(url) as store:
        return {e.name: list(store.find(e.name)) for e in ENTITIES}


def run(url: str, data: Path, mapping: Path, batch: int) -> subprocess.Popen:
    return subprocess.Popen(
        [ECOM, "import", str(data), "--map", str(mapping), "--db", url, "--batch-size",
         str(batch), "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
def test_sigkill_mid_import_then_rerun_equals_one_clean_run(
    db_url: str, backend: str, tmp_path: Path
) -> None:
    lines, batch = (4000, 200) if backend == "mongodb" else (10000, 500)
    data = tmp_path / "sales.csv"
    flat_sales(data, lines)
    mapping = tmp_path / "m.toml"
    mapping.write_text(MAPPING)

    proc = run(db_url, data, mapping, batch)
    with ecomcli.connect(db_url) as store:
        deadline = time.monotonic() + 120
        while (done := store.count("order_items")) == 0 and proc.poll() is None:
            assert time.monotonic() < deadline, "the first batch never committed"
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        at_kill = store.count("order_items")
    assert done > 0 and at_kill < lines, "the import was not killed half-way"
    assert at_kill % batch == 0  # only whole batches were committed

    rerun = run(db_url, data, mapping, batch)
    assert rerun.wait() == 0, rerun.stderr.read().decode()  # type: ignore[union-attr]

    clean = f"sqlite:///{tmp_path / 'clean.db'}"
    with ecomcli.connect(clean) as store:
        store.init_schema()
    assert run(clean, data, mapping, batch).wait() == 0
    assert snapshot(db_url) == snapshot(clean)
    assert snapshot(clean)["order_items"].__len__() == lines
