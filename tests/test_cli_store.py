"""`ecom init-db`, `ecom status`, `--version` and the error conventions, through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ecomcli import __version__, schema
from ecomcli.cli import app

runner = CliRunner()


def ecom(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), input=input)


def test_version() -> None:
    result = ecom("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"ecom {__version__}"


def test_init_db_twice_then_status_lists_every_entity(db_url: str) -> None:
    first = ecom("init-db", "--db", db_url)
    assert first.exit_code == 0, first.stderr
    assert "nothing to do" in first.stderr  # the fixture already initialised it
    status = ecom("status", "--db", db_url, "--format", "json")
    assert status.exit_code == 0, status.stderr
    data = json.loads(status.stdout)
    assert data["schema_version"] == schema.SCHEMA_VERSION
    assert data["entities"] == {e.name: 0 for e in schema.ENTITIES}


def test_init_db_on_a_new_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    first = ecom("init-db", "--db", url)
    assert first.exit_code == 0
    assert "created" in first.stderr and "orders" in first.stderr
    second = ecom("init-db", "--db", url)
    assert second.exit_code == 0
    assert "nothing to do" in second.stderr


def test_db_falls_back_to_ecom_db_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECOM_DB", f"sqlite:///{tmp_path / 'env.db'}")
    assert ecom("init-db").exit_code == 0
    assert (tmp_path / "env.db").exists()


def test_drop_needs_confirmation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'd.db'}"
    ecom("init-db", "--db", url)
    refused = ecom("init-db", "--db", url, "--drop")  # no terminal to ask on
    assert refused.exit_code == 2
    assert "pass --yes" in refused.stderr
    monkeypatch.setattr("ecomcli.cli.common.interactive", lambda: True)
    refused = ecom("init-db", "--db", url, "--drop", input="n\n")
    assert refused.exit_code == 2
    assert "not confirmed" in refused.stderr
    assert "nothing to do" not in refused.stderr
    dropped = ecom("init-db", "--db", url, "--drop", "--yes")
    assert dropped.exit_code == 0
    assert "created" in dropped.stderr


def test_status_table_and_csv(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    ecom("init-db", "--db", url)
    result = ecom("status", "--db", url, "--format", "csv")
    assert result.stdout.splitlines()[0] == "entity,rows"
    assert "orders,0" in result.stdout.splitlines()


def test_unknown_scheme_is_a_one_line_usage_error() -> None:
    result = ecom("status", "--db", "postgres://shop:hunter2@h/db")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: unsupported database URL")
    assert "hunter2" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_missing_folder_is_a_connection_error(tmp_path: Path) -> None:
    result = ecom("status", "--db", f"sqlite:///{tmp_path / 'no' / 'such' / 'x.db'}")
    assert result.exit_code == 7
    assert "does not exist" in result.stderr


def test_status_before_init_db_says_so(tmp_path: Path) -> None:
    (tmp_path / "fresh.db").touch()  # an empty file is an empty SQLite database
    result = ecom("status", "--db", f"sqlite:///{tmp_path / 'fresh.db'}", "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["schema_version"] is None


@pytest.mark.parametrize(
    "command",
    [["status"], ["customers", "list"], ["customers", "get", "C1"], ["report", "sales"],
     ["export", "customers"], ["import", "customers.csv"]],
)
def test_a_command_that_does_not_create_a_store_names_the_missing_file(
    tmp_path: Path, command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A typo in --db is an error naming the file, as MySQL's missing database is, and
    leaves no empty store behind; only init-db (and demo, copy --to) create one."""
    monkeypatch.chdir(tmp_path)
    Path("customers.csv").write_text("customer_id,first_name,last_name,email\nC1,A,B,a@b.c\n")
    result = ecom(*command, "--db", "sqlite:///typo.db")
    assert result.exit_code == 7, result.output
    assert "typo.db does not exist: run `ecom init-db`" in result.stderr
    assert not Path("typo.db").exists()
    assert ecom("init-db", "--db", "sqlite:///typo.db").exit_code == 0
    assert Path("typo.db").exists()


def test_console_script_runs_and_maps_exit_codes(tmp_path: Path) -> None:
    """The real entry point, in a real process: exit code and stderr as cron sees them."""
    env = {**os.environ, "ECOM_DB": "postgres://x/y"}
    done = subprocess.run(
        [sys.executable, "-c", "from ecomcli.cli import main; main()", "status"],
        capture_output=True, text=True, env=env, cwd=tmp_path,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: unsupported database URL")
    assert done.stdout == ""


def test_verbose_adds_the_traceback() -> None:
    quiet = ecom("status", "--db", "postgres://h/db")
    loud = ecom("--verbose", "status", "--db", "postgres://h/db")
    assert "Traceback" not in quiet.stderr
    assert "Traceback" in loud.stderr
    assert loud.exit_code == quiet.exit_code == 2
    assert loud.stderr.rstrip().splitlines()[-1] == quiet.stderr.rstrip()


def missing_store_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'typo.db'}"
    server = "mysql_server" if backend == "mysql" else "mongo_server"
    prefix = request.getfixturevalue(server).rsplit("/", 1)[0] if backend == "mysql" else (
        request.getfixturevalue(server)
    )
    return f"{prefix}/ecom_typo_{os.getpid()}"


@pytest.mark.parametrize("command", [["status"], ["customers", "list"], ["report", "sales"]])
def test_reading_a_missing_store_is_the_same_error_on_every_backend(
    backend: str, command: list[str], request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = missing_store_url(backend, request, tmp_path)
    result = ecom(*command, "--db", url)
    assert result.exit_code == 7, result.output
    assert result.stderr.startswith(f"error: cannot use {url}: ")
    assert "does not exist: run `ecom init-db` to create it" in result.stderr
