"""A key given twice in one file is handled the same whether both lines fall in one batch
or in two: the outcome of an import does not depend on `--batch-size` (nor on the
backend, whose default batch sizes differ)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import ecomcli
from ecomcli.cli import app
from ecomcli.seen_keys import SeenKeys

runner = CliRunner()

# line 2 onwards; with --batch-size 2 the batches are lines 2-3, 4-5, 6-7, ...
CUSTOMERS = [
    ("c1", "Ada"),
    ("c2", "Bob"),
    ("c1", "Ada"),  # line 4: an exact repeat, from another batch: unchanged
    ("c3", "Cy"),
    ("c1", "Adele"),  # line 6: same key, another name: rejected naming line 2
    ("c2", "Bob"),
    ("c1", "Adele"),  # line 8: rejected too
    ("c4", "Di"),
    ("c5", "Ed"),
    ("c6", "Fay"),
    ("c1", "Eve"),  # lines 12 and 13 in one batch: both rejected, not one "unchanged"
    ("c1", "Eve"),
]


def write(folder: Path, fmt: str) -> Path:
    path = folder / f"customers.{fmt}"
    rows = [{"customer_id": k, "first_name": n} for k, n in CUSTOMERS]
    if fmt == "csv":
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, ["customer_id", "first_name"])
            writer.writeheader()
            writer.writerows(rows)
    else:  # NDJSON: line 1 is the first record; the record lane, not the CSV value lane
        path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def outcome(db_url: str, path: Path, *batch: str) -> tuple[object, object, object]:
    with ecomcli.connect(db_url) as store:
        for row in list(store.find("customers")):
            store.delete("customers", (row["customer_id"],))
    result = runner.invoke(app, ["import", str(path), "--db", db_url, "--json", *batch])
    assert result.exit_code == 4, result.stderr
    counts = json.loads(result.stdout)["entities"][0]
    counts.pop("seconds"), counts.pop("rows_per_s", None)
    with (path.parent / "customers.rejects.csv").open(newline="") as fh:
        rejected = sorted((r["line"], r["field"], r["reason"]) for r in csv.DictReader(fh))
    with ecomcli.connect(db_url) as store:
        stored = sorted((r["customer_id"], r["first_name"]) for r in store.find("customers"))
    return stored, counts, rejected


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_duplicate_keys_do_not_depend_on_the_batch_size(db_url: str, tmp_path: Path,
                                                        fmt: str) -> None:
    path = write(tmp_path, fmt)
    whole = outcome(db_url, path)
    assert outcome(db_url, path, "--batch-size", "2") == whole
    assert outcome(db_url, path, "--batch-size", "3") == whole
    stored, counts, rejected = whole
    # the first of each key is kept; every other value for it is rejected
    first: dict[str, str] = {}
    for key, name in CUSTOMERS:
        first.setdefault(key, name)
    assert stored == sorted(first.items())
    offset = 2 if fmt == "csv" else 1
    conflicting = [i + offset for i, (k, n) in enumerate(CUSTOMERS) if first[k] != n]
    assert [int(line) for line, _, _ in sorted(rejected, key=lambda r: int(r[0]))] == conflicting
    assert all(f == "first_name" and f"line {offset}" in why for _, f, why in rejected)
    assert counts["unchanged"] == len(CUSTOMERS) - len(first) - len(conflicting)


def test_a_repeat_written_differently_in_a_later_batch_is_unchanged(db_url: str,
                                                                    tmp_path: Path) -> None:
    # a plain CSV remembers its earlier batches' rows by a hash of their fields as read:
    # "10.00" after "10.0" hashes differently, and is then compared as a validated row
    path = tmp_path / "products.csv"
    path.write_text("product_id,name,price\np1,Pen,10.0\np2,Ink,2\np1,Pen,10.00\n"
                    "p2,Ink,2.5\n")
    result = runner.invoke(app, ["import", str(path), "--db", db_url, "--json",
                                 "--batch-size", "2"])
    assert result.exit_code == 4, result.stderr
    counts = json.loads(result.stdout)["entities"][0]
    assert (counts["inserted"], counts["unchanged"], counts["rejected"]) == (2, 1, 1)
    with (tmp_path / "products.rejects.csv").open(newline="") as fh:
        (reject,) = list(csv.DictReader(fh))
    assert (reject["line"], reject["field"]) == ("5", "price")
    assert "line 3" in reject["reason"]


def test_seen_keys_give_back_each_earlier_line_and_row_hash() -> None:
    """Keys spread over every bucket, merged in batches, each found with its own line and
    row hash; a line past 4,294,967,295 (where lines stop fitting in 4 bytes) exactly."""
    rng = np.random.default_rng(7)
    keys = rng.integers(np.iinfo(np.int64).min, np.iinfo(np.int64).max, 20_000, np.int64)
    lines = np.arange(2, 20_002, dtype=np.int64)
    lines[-1] = 5_000_000_123
    rows = rng.integers(0, 1 << 62, 20_000, np.int64)
    seen = SeenKeys()
    for part in np.array_split(np.arange(20_000), 7):
        seen.add(keys[part].tolist(), lines[part].tolist(), rows[part].tolist())
    assert len(seen) == 20_000
    asked = [int(keys[5]), 12345, int(keys[-1]), int(keys[0])]
    assert seen.find(asked) == [(0, int(lines[5]), int(rows[5])),
                                (2, 5_000_000_123, int(rows[-1])),
                                (3, 2, int(rows[0]))]


# batches of 2 (lines 2-3, 4-5, ...): in key order, then not
IN_ORDER_THEN_NOT = [
    ("c1", "Ada"), ("c2", "Bob"),
    ("c3", "Cy"), ("c4", "Di"),
    ("c4", "Dee"), ("c5", "Ed"),  # line 6: the last key of the batch before, renamed
    ("c6", "Fay"), ("c2", "Bo"),  # line 9: out of order, the key of line 3 with another name
    ("c1", "Ada"), ("c7", "Gus"),  # line 10: a repeat of line 2
]


@pytest.mark.parametrize("lane", ["columnar", "values"])
def test_a_file_in_key_order_then_not_finds_every_earlier_key(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lane: str
) -> None:
    """While a file's batches come in increasing key order no key is looked up among the
    earlier batches' (none can be there); a batch that starts at the last key before it,
    or is out of order, is looked up, and so is every batch after it."""
    from ecomcli import importing

    monkeypatch.setattr(importing, "COLUMNAR_MIN_BYTES", 0 if lane == "columnar" else 1 << 60)
    path = tmp_path / "customers.csv"
    path.write_text("customer_id,first_name\n" + "".join(
        f"{k},{n}\n" for k, n in IN_ORDER_THEN_NOT))
    for batch in ([], ["--batch-size", "2"], ["--batch-size", "3"]):
        stored, counts, rejected = outcome(db_url, path, *batch)
        assert stored == [("c1", "Ada"), ("c2", "Bob"), ("c3", "Cy"), ("c4", "Di"),
                          ("c5", "Ed"), ("c6", "Fay"), ("c7", "Gus")]
        assert (counts["inserted"], counts["unchanged"], counts["rejected"]) == (7, 1, 2)
        assert [(line, f) for line, f, _ in rejected] == [("6", "first_name"),
                                                          ("9", "first_name")]
        assert "line 5" in rejected[0][2] and "line 3" in rejected[1][2]
