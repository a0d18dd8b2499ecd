"""The columnar lane of `ecom import` (pyarrow) gives what the value-list lane gives.

The per-row validator is the specification: each file below is imported twice into
fresh stores, once through the columnar lane and once without it, and everything a user
sees must be equal: the stored rows, the counts, the rejects file (line, field, reason,
values), the summaries' marks. A spy proves that the columnar lane was taken. On SQLite
and MySQL, the stores that take batches as columns (`Repository.prepares_columns`).
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import BACKENDS

import ecomcli
from ecomcli import columnar, importing, schema
from ecomcli.errors import EcomError
from ecomcli.importing import ImportOptions, import_paths
from ecomcli.validation import validate

HEADER = "order_id,line_no,product_id,quantity,unit_price,freight\n"
LINES = [
    "o1,1,p1,2,10.50,",
    "o1,2,p2,1,3,0.99",
    "o1,3,p1,,7.25,",  # blank quantity: its default
    "o1,4,p2, 4 ,1.5,",  # spaces around an int: the validator's call
    "o1,5,p1,+3,2.,1.",  # a sign, a trailing point
    "o1,6,p2,1_000,.5,",  # underscores, no leading digit
    "o1,7,p1,0,1.00,",  # below quantity's minimum
    "o1,8,p1,abc,1.00,",  # not a number
    "o1,9,p1,1,1.555,",  # too many decimals
    "o1,10,,1,1.00,",  # required key blank
    "o1,11,p1,1,1.00",  # one field short
    "o1,12,p1,1,1.00,,extra",  # one field over
    "o1,13,p1,1,-1.00,",  # negative price
    "o1,14,p1,99999999999999999999,1,",  # beyond int64
    "o1,1,p1,2,10.50,",  # the same row again: a repeat
    "o1,2,p2,1,3.00,0.99",  # the same row written differently
    "o1,3,p2,1,7.25,",  # the same key, other values: rejected
    "o2,1,p\u00e9,1,1.00,",  # a key that is not ASCII
    "o2,2,p1,1,1.00,\u3000",  # a blank made of an ideographic space
    "o2,3,p1,1,1e2,",  # an exponent
    "o2,4,p9,1,1.00,",  # no such product: the reference check
    "o3,1,p1,1,1.00,",
    "o3,2,p2,2,2.00,",
    "o1,1,p1,2,10.5,",  # a repeat of line 2, in a later batch, written differently
    "o1,2,p2,9,3,0.99",  # a conflict with an earlier batch
    "o3,1,p1,1,1.00,",  # a repeat of an earlier batch, as written
    "o3,3,p1,1,1.00,   ",  # a blank of spaces
    "o3,4,p1,007,007.50,",  # leading zeros
    "o3,5,p1,-0,-0,",  # minus zero: below quantity's minimum
]


ORDERS = (
    "order_id,customer_id,status,purchased_at,delivered_at\n",
    [
        "o1,c1,delivered,2024-01-02 10:00:00,2024-01-05 12:00:00",
        "o2,c1,DELIVERED,2024-01-02T10:00:00,",  # a T, a capital: the enum's name
        "o3,c1, shipped ,2024-02-29 23:59:59,",
        "o4,c1,lost,2024-01-02 10:00:00,",  # no such status
        "o5,c1,,2024-01-02 10:00:00,",  # blank status: its default
        "o6,c1,delivered,2024-02-30 10:00:00,",  # no such day
        "o7,c1,delivered,2024-01-02 10:00:00+02:00,",  # a zone: UTC
        "o8,c1,delivered,2024-01-02 10:00:00.75,",  # a fraction: dropped
        "o9,c1,delivered,,",  # required moment blank
        "o10,c1,delivered,2024-01-02,",  # a date: midnight
        "o11,c1,delivered,0000-01-01 00:00:00,",  # year 0
        "o12,c9,delivered,2024-01-02 10:00:00,",  # no such customer
        "o1,c1,delivered,2024-01-02T10:00:00,2024-01-05 12:00:00",  # a repeat, written otherwise
    ],
)
CUSTOMERS = (
    "customer_id,email,gender,date_of_birth,created_at\n",
    [
        "c2,a@b.co,,1990-01-02,2024-01-01 00:00:00",
        "c3,a b@c.de,,,",  # a space in an e-mail address
        "c4,\u00e9@b.co,,,",  # not ASCII: the validator's call
        "c5,x@y,,,",
        "c6,,,2023-02-29,",  # no such day
        "c7,,,1990-1-2,",
        "c8,,,19900102,",
        "c9,back\\slash@b.co,,,",  # a backslash: escaped in MySQL's LOAD DATA text
    ],
)


def write_file(folder: Path, lines: list[str], *, eol: str = "\n", gz: bool = False,
               delimiter: str = ",", header: str = HEADER, entity: str = "order_items") -> Path:
    text = (header + "\n".join(lines) + "\n").replace(",", delimiter)
    name = entity + "." + ("tsv" if delimiter == "\t" else "csv")
    path = folder / (name + (".gz" if gz else ""))
    data = text.replace("\n", eol)
    path.write_bytes(gzip.compress(data.encode()) if gz else data.encode())
    return path


def parents(store: Any) -> None:
    def add(entity: str, raw: dict[str, str]) -> None:
        store.insert(entity, validate(schema.entity(entity), raw))

    add("customers", {"customer_id": "c1"})
    for o in ("o1", "o2", "o3"):
        add("orders", {"order_id": o, "customer_id": "c1", "status": "delivered",
                       "purchased_at": "2024-01-02 10:00:00"})
    for p in ("p1", "p2"):
        add("products", {"product_id": p, "name": p, "price": "1.00"})


@pytest.fixture(params=["sqlite", "mysql"])
def fresh(tmp_path: Path, request: pytest.FixtureRequest) -> Callable[[str], str]:
    """The URL of a new store with the schema and the parents, one per name (MySQL: the
    test database, made anew for each)."""
    if request.param not in BACKENDS:
        pytest.skip(f"{request.param} is not among ECOM_TEST_BACKENDS")

    def make(name: str) -> str:
        if request.param == "mysql":
            url = request.getfixturevalue("mysql_server")
        else:
            url = f"sqlite:///{tmp_path / (name + '.db')}"
        with ecomcli.connect(url) as store:
            store.init_schema(drop=request.param == "mysql")
            parents(store)
        return url

    return make


def run(folder: Path, path: Path, columnar_lane: bool, monkeypatch: pytest.MonkeyPatch,
        fresh: Callable[[str], str], batch_size: int | None = None, runs: int = 1
        ) -> dict[str, Any]:
    """Import `path` into a fresh store (`runs` times), through the columnar lane or not."""
    taken = []
    reader = columnar.read_batches

    def spy(*args: Any) -> Any:
        taken.append(args)
        return reader(*args)

    monkeypatch.setattr(columnar, "read_batches", spy)
    monkeypatch.setattr(importing, "COLUMNAR_MIN_BYTES", 0 if columnar_lane else 1 << 60)
    out = folder / ("columnar" if columnar_lane else "values")
    out.mkdir()
    counts, rejected = [], []
    with ecomcli.connect(fresh(out.name)) as store:
        for n in range(runs):
            rejects = out / f"rejects{n}.csv"
            options = ImportOptions(rejects=rejects, batch_size=batch_size)
            summary = import_paths(store, [path], options)
            counts.append([{k: v for k, v in r.items() if k not in ("seconds", "rows_per_s")}
                           for r in summary.rows()])
            if rejects.exists():
                with rejects.open(newline="", encoding="utf-8") as fh:
                    rejected.append([row[1:] for row in csv.reader(fh)])
        entity = schema.entity(path.name.split(".")[0])
        stored = sorted(store.find(entity.name), key=lambda r: [r[k] for k in entity.key])
        marks = store.query("SELECT month FROM summary_dirty_months ORDER BY month")
    assert bool(taken) == columnar_lane
    return {"counts": counts, "rejected": rejected, "stored": stored, "marks": marks}


def both(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: Path,
         fresh: Callable[[str], str], **kw: Any) -> dict:
    fast = run(tmp_path, path, True, monkeypatch, fresh, **kw)
    slow = run(tmp_path, path, False, monkeypatch, fresh, **kw)
    assert fast == slow
    return fast


@pytest.mark.parametrize("batch_size", [None, 5, 1])
def test_the_columnar_lane_imports_what_the_validator_would(tmp_path, monkeypatch, fresh,
                                                            batch_size):
    path = write_file(tmp_path, LINES)
    got = both(tmp_path, monkeypatch, path, fresh, batch_size=batch_size)
    reasons = {(r[0], r[2]) for r in got["rejected"][0][1:]}
    # the lines the validator refuses are among them, named by line and field
    assert {("9", "quantity"), ("13", ""), ("19", "product_id")} <= reasons
    assert ("26", "quantity") in reasons  # the conflict with an earlier batch
    assert len(got["stored"]) > 10


def test_the_columnar_lane_counts_a_re_run_unchanged(tmp_path, monkeypatch, fresh):
    path = write_file(tmp_path, LINES)
    got = both(tmp_path, monkeypatch, path, fresh, batch_size=4, runs=2)
    assert got["counts"][1][0]["inserted"] == 0 and got["counts"][1][0]["updated"] == 0


@pytest.mark.parametrize("batch_size", [None, 3])
@pytest.mark.parametrize("name", ["orders", "customers"])
def test_moments_enums_and_e_mail_addresses_take_the_columnar_lane(tmp_path, monkeypatch, fresh,
                                                                    name, batch_size):
    header, lines = ORDERS if name == "orders" else CUSTOMERS
    path = write_file(tmp_path, lines, header=header, entity=name)
    got = both(tmp_path, monkeypatch, path, fresh, batch_size=batch_size)
    assert got["rejected"] and len(got["stored"]) >= 4


@pytest.mark.parametrize("shape", ["crlf", "gz", "tsv"])
def test_the_columnar_lane_reads_crlf_gzip_and_tsv(tmp_path, monkeypatch, fresh, shape):
    path = write_file(tmp_path, LINES, eol="\r\n" if shape == "crlf" else "\n",
                      gz=shape == "gz", delimiter="\t" if shape == "tsv" else ",")
    both(tmp_path, monkeypatch, path, fresh, batch_size=6)


def test_a_file_with_quotes_or_blank_lines_keeps_the_value_lane(tmp_path, monkeypatch):
    monkeypatch.setattr(importing, "COLUMNAR_MIN_BYTES", 0)
    taken: list[Any] = []
    monkeypatch.setattr(columnar, "read_batches", lambda *a: taken.append(a))
    for lines, eol in ((['o1,1,p1,1,"1.00",'], "\n"),
                       (["o1,1,p1,1,1.00,", "", "o1,2,p1,1,1.00,"], "\n"),
                       (["o1,1,p1,1,1.00,", "", "o1,2,p1,1,1.00,"], "\r\n"),
                       (["o1,1,p1,1,1.00,", "", "o1,2,p1,1,1.00,"], "\r")):
        path = write_file(tmp_path, lines, eol=eol)
        db = tmp_path / "q.db"
        db.unlink(missing_ok=True)
        with ecomcli.connect(f"sqlite:///{db}") as store:
            store.init_schema()
            parents(store)
            summary = import_paths(store, [path], ImportOptions())
        assert summary.stats["order_items"].inserted == len([x for x in lines if x])
        assert not taken


def test_lines_count_the_ragged_records():
    # records 0.. on lines 2..; lines 4 and 5 were ragged (skipped by the parser)
    ragged = [(4, "x"), (5, "y")]
    assert columnar.lines_of(0, 4, ragged).tolist() == [2, 3, 6, 7]
    assert columnar.lines_of(2, 2, ragged).tolist() == [6, 7]
    # the same, with the ragged line 4 already yielded with an earlier batch
    assert columnar.lines_of(2, 2, [(5, "y")], skipped=1).tolist() == [6, 7]
    assert columnar.lines_of(0, 2, [], skipped=0).tolist() == [2, 3]


def test_the_blank_pattern_holds_every_python_space():
    import pyarrow as pa
    import pyarrow.compute as pc

    spaces = [chr(c) for c in range(0x110000) if chr(c).isspace()]
    matched = pc.match_substring_regex(pa.array([*spaces, "a", " a "]), columnar.BLANK)
    assert matched.to_pylist() == [True] * len(spaces) + [False, False]
    assert set(columnar.SPACE_CHARACTERS) == set(spaces)


@pytest.mark.parametrize("space", [" ", "\t", "\x1f", "\xa0", "\u2007", "\u3000", ""])
def test_a_column_with_one_blank_value_finds_it(space):
    """Blanks are found from the first byte of each value before any regex runs: a value
    of spaces, or that begins with one, or an empty one, anywhere in the column."""
    import pyarrow as pa

    values = pa.array(["a", "b", space, f"{space}c", "d"])
    for part in (values, values.slice(1)):
        blank = columnar._blank(part)
        got = [False] * len(part) if blank is None else blank.to_pylist()
        assert got == [v.isspace() or not v for v in part.to_pylist()]
    assert columnar._blank(pa.array(["a", "b　", "c d"])) is None


def test_the_columnar_lane_reports_its_progress_in_bytes(tmp_path, monkeypatch):
    monkeypatch.setattr(importing, "COLUMNAR_MIN_BYTES", 0)
    path = write_file(tmp_path, LINES)
    seen: list[tuple[int, int, int]] = []
    with ecomcli.connect(f"sqlite:///{tmp_path / 'p.db'}") as store:
        store.init_schema()
        parents(store)
        import_paths(store, [path], ImportOptions(batch_size=5),
                     progress=lambda name, rows, done, total: seen.append((rows, done, total)))
    assert [rows for rows, _, _ in seen] == [5, 10, 15, 20, 25, 29]
    assert seen[-1][1] == seen[-1][2] == path.stat().st_size


def test_the_longest_line_is_measured_across_chunks():
    longest, since = importing._longest_line(b"ab\ncdef", 0, 0)
    assert (longest, since) == (3, 4)
    longest, since = importing._longest_line(b"gh\nij\n", longest, since)
    assert (longest, since) == (7, 0)  # "cdefgh\n" spans the two chunks
    assert importing._longest_line(b"xyz", 7, 0) == (7, 3)


def test_a_record_pyarrow_cannot_read_is_a_one_line_error_naming_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(columnar, "READ_BLOCK", 64)  # smaller than the line below
    path = tmp_path / "big.csv"
    path.write_text("a,b\n" + "x" * 200 + ",1\n")
    with pytest.raises(EcomError, match=r"^shown\.csv: .*block"):
        list(columnar.read_batches(str(path), "shown.csv", False, ",", 2, 10))


def test_the_lane_is_for_entities_the_stores_write_by_columns():
    def usable(name: str, **kw: Any) -> bool:
        entity = schema.entity(name)
        positions = {f.name: i for i, f in enumerate(entity.fields)}
        args = {"encoding": "utf-8", "plain": True, "date_format": None} | kw
        return columnar.usable(entity, positions, **args)

    assert usable("order_items") and usable("orders") and usable("customers")
    assert not usable("logins")  # a unique e-mail address: written a row at a time
    assert not usable("categories")  # refers to itself: written parents first
    assert not usable("products")  # rules across fields
    assert not usable("orders", date_format="%d/%m/%Y")
    assert not usable("orders", encoding="latin-1") and not usable("orders", plain=False)


def test_the_ecom_process_takes_the_lane_without_loading_pandas(tmp_path: Path) -> None:
    """pyarrow loads pandas (~35 MB) at its first conversion of a Python value, only to
    ask whether the value is a pandas object; in the `ecom` process it does not
    (`heap`), and a file of several batches still takes the lane."""
    path = tmp_path / "delivery_partners.csv"
    with path.open("w") as fh:
        fh.write("partner_id,name,phone,email\n")
        fh.writelines(f"dp{i},Partner {i},555{i:07d},p{i}@example.com\n"
                      for i in range(180_000))
    assert path.stat().st_size >= importing.COLUMNAR_MIN_BYTES
    url = f"sqlite:///{tmp_path / 'store.db'}"
    env = {**os.environ, "PYTHONPATH": str(Path(ecomcli.__file__).parents[1])}

    def ecom(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-X", "importtime", "-m", "ecomcli", *args],
                              capture_output=True, text=True, env=env)

    assert ecom("init-db", "--db", url).returncode == 0
    run = ecom("import", str(path), "--db", url, "--json")
    assert run.returncode == 0, run.stderr[-2000:]
    loaded = {line.split("|")[-1].strip() for line in run.stderr.splitlines()
              if line.startswith("import time:")}
    assert "pyarrow.csv" in loaded  # the lane was taken
    # (a refused `import pandas` is listed too: pandas itself loads its submodules)
    assert not [name for name in loaded if name.startswith("pandas.")]
    assert json.loads(run.stdout)["entities"][0]["inserted"] == 180_000
    with ecomcli.connect(url) as store:
        assert store.get("delivery_partners", ("dp179999",))["email"] == "p179999@example.com"


def test_moments_and_dates_print_as_strftime_would():
    """`columnar.as_text` casts where the checks and the stores' texts used strftime:
    the same text for every year the validator lets through, leap days included."""
    import pyarrow as pa
    import pyarrow.compute as pc

    moments = pc.strptime(pa.array(["0000-01-01 00:00:00", "0001-02-03 04:05:06",
                                    "0999-12-31 23:59:59", "2024-02-29 12:00:00",
                                    "9999-12-31 23:59:59", None]),
                          format="%Y-%m-%d %H:%M:%S", unit="s")
    dates = pc.cast(moments, pa.date32())
    for column, fmt in ((moments, "%Y-%m-%d %H:%M:%S"), (dates, "%Y-%m-%d")):
        assert columnar.as_text(column).to_pylist() == pc.strftime(column, format=fmt).to_pylist()
