"""No option that writes a file may write it over the store or an input, and no output is
ever left half-written where the user's file was."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

import ecomcli
from ecomcli.cli import app
from ecomcli.outputs import open_replacing

runner = CliRunner()
SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
BAD_CUSTOMER = "C-bad,Ada,Lovelace,not-an-email\n"


def ecom(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A SQLite store `store.db` holding the sample customers, in the current folder."""
    monkeypatch.chdir(tmp_path)
    assert ecom("init-db", "--db", "sqlite:///store.db").exit_code == 0
    done = ecom("import", str(SAMPLE / "customers.csv"), "--db", "sqlite:///store.db")
    assert done.exit_code == 0, done.stderr
    return tmp_path / "store.db"


def assert_refused(result, output: str, other: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert output in result.stderr and other in result.stderr
    assert "refusing to overwrite" in result.stderr


def assert_store_intact(url: str = "sqlite:///store.db") -> None:
    with ecomcli.connect(url, create=False) as store:
        assert store.count("customers") == 1000


@pytest.mark.parametrize(
    "args",
    [
        ["report", "sales", "--by", "quarter", "--format", "csv", "--output", "store.db"],
        ["report", "sales", "--by", "quarter", "--format", "md", "--output", "store.db"],
        ["report", "sales", "--output", "./sub/../store.db"],
        ["report", "sales", "--output", "store.db-wal"],
        ["report", "sales", "--output", "store.db-shm"],
        ["report", "sales", "--output", "store.db-journal"],
        ["export", "customers", "--out", "store.db"],
        ["export", "customers", "--format", "json", "--out", "link.db"],
        ["export", "customers", "--out", "hard.db"],
    ],
)
def test_an_output_onto_the_store_is_refused(shop: Path, args: list[str]) -> None:
    Path("sub").mkdir()
    Path("link.db").symlink_to(shop)
    os.link(shop, "hard.db")
    before = shop.read_bytes()
    result = ecom(*args, "--db", "sqlite:///store.db")
    assert_refused(result, args[-1].split("/")[-1], "sqlite:///store.db")
    assert shop.read_bytes() == before
    assert_store_intact()


def test_the_default_store_is_protected_too(shop: Path) -> None:
    shop.rename("ecom.db")  # the default sqlite:///ecom.db, with neither --db nor ECOM_DB
    result = runner.invoke(app, ["report", "payments", "--output", "ecom.db"], env={"ECOM_DB": ""})
    assert_refused(result, "ecom.db", "sqlite:///ecom.db")
    assert_store_intact("sqlite:///ecom.db")


def test_a_chart_onto_the_store_is_refused(shop: Path) -> None:
    shop.rename("shop.png")
    result = ecom("report", "sales", "--chart", "shop.png", "--db", "sqlite:///shop.png")
    assert_refused(result, "shop.png", "sqlite:///shop.png")
    assert_store_intact("sqlite:///shop.png")


def test_output_and_chart_on_one_file_is_refused(shop: Path) -> None:
    result = ecom("report", "sales", "--output", "s.png", "--chart", "s.png", "--db",
                  "sqlite:///store.db")
    assert_refused(result, "--chart s.png", "--output")
    assert not Path("s.png").exists()


def test_rejects_onto_the_store_are_refused_before_reading(shop: Path) -> None:
    Path("customers.csv").write_text("customer_id,first_name,last_name,email\n" + BAD_CUSTOMER)
    result = ecom("import", "customers.csv", "--rejects", "store.db", "--db", "sqlite:///store.db")
    assert_refused(result, "--rejects store.db", "sqlite:///store.db")
    assert_store_intact()
    assert ecom("customers", "get", "C-bad", "--db", "sqlite:///store.db").exit_code == 3


def test_rejects_onto_an_input_are_refused_on_every_backend(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "c"
    folder.mkdir()
    data = folder / "customers.csv"
    text = "customer_id,first_name,last_name,email\nC1,Ada,Lovelace,ada@x.io\n" + BAD_CUSTOMER
    data.write_text(text)
    for rejects in (str(data), str(tmp_path / "c" / ".." / "c" / "customers.csv")):
        result = ecom("import", str(data), "--rejects", rejects, "--db", db_url)
        assert_refused(result, "--rejects", f"the input {data}")
        assert data.read_text() == text
    with ecomcli.connect(db_url) as store:
        assert store.count("customers") == 0  # refused before anything was written


def test_export_all_into_a_file_is_a_usage_error(shop: Path) -> None:
    Path("backup").write_text("mine\n")
    result = ecom("export", "--all", "--out", "backup", "--db", "sqlite:///store.db")
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and "backup is a file" in result.stderr
    assert Path("backup").read_text() == "mine\n"


def test_an_import_without_a_schema_leaves_no_file_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("customers.csv").write_text("customer_id,first_name,last_name,email\n" + BAD_CUSTOMER)
    result = ecom("import", "customers.csv", "--db", "sqlite:///new.db")
    assert result.exit_code == 7 and "new.db does not exist" in result.stderr
    Path("empty.db").touch()  # a store without the schema
    result = ecom("import", "customers.csv", "--db", "sqlite:///empty.db")
    assert result.exit_code == 1 and "no ecom schema" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["customers.csv", "empty.db"]


def test_a_failed_write_leaves_the_earlier_file_as_it_was(tmp_path: Path) -> None:
    earlier = tmp_path / "report.csv"
    earlier.write_text("last month's figures\n")
    earlier.chmod(0o640)
    with pytest.raises(RuntimeError), open_replacing(earlier) as out:
        out.write("half of this month's")
        raise RuntimeError("the server went away")
    assert earlier.read_text() == "last month's figures\n"
    with open_replacing(earlier) as out:
        out.write("this month's figures\n")
    assert earlier.read_text() == "this month's figures\n"
    assert earlier.stat().st_mode & 0o777 == 0o640  # the user's permissions are kept
    assert [p.name for p in tmp_path.iterdir()] == ["report.csv"]  # no temporary file left


def test_rejects_and_outputs_are_written_whole(shop: Path) -> None:
    Path("customers.csv").write_text("customer_id,first_name,last_name,email\n" + BAD_CUSTOMER)
    done = ecom("import", "customers.csv", "--db", "sqlite:///store.db")
    assert done.exit_code == 4
    assert "not-an-email" in Path("customers.rejects.csv").read_text()
    done = ecom("export", "customers", "--out", "c.csv.gz", "--db", "sqlite:///store.db")
    assert done.exit_code == 0
    done = ecom("report", "sales", "--output", "s.csv", "--chart", "s.png", "--db",
                "sqlite:///store.db")
    assert done.exit_code == 0, done.stderr
    assert not [p for p in Path().iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize(
    "args",
    [["export", "customers", "--out", "no/such/c.csv"], ["report", "sales", "--output",
     "no/such/s.csv"], ["report", "sales", "--chart", "no/such/s.png"]],
)
def test_an_output_into_a_missing_folder_is_one_line(shop: Path, args: list[str]) -> None:
    result = ecom(*args, "--db", "sqlite:///store.db")
    assert result.exit_code == 1, result.output
    assert result.stderr == f"error: cannot write {args[-1]}: No such file or directory\n"
