"""Global options anywhere: `--db`, `--format` (and --csv/--tsv/--nl), `--quiet` and
`--verbose` mean the same before and after the sub-command, for every command of the app
(the cases are generated from the app itself), and `--help` shows readable placeholders."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from ecomcli.cli import app, common

runner = CliRunner()
CLICK_APP = typer.main.get_command(app)


def leaf_commands(group: Any = CLICK_APP, path: tuple[str, ...] = ()) -> Iterator[Any]:
    for name, command in sorted(group.commands.items()):
        if hasattr(command, "commands"):
            yield from leaf_commands(command, (*path, name))
        else:
            yield (*path, name), command


COMMANDS = list(leaf_commands())
IDS = [" ".join(path) for path, _ in COMMANDS]


def option_names(command: Any) -> set[str]:
    return {o for p in command.params for o in getattr(p, "opts", ())}


def dummy_args(command: Any) -> list[str]:
    """Values for the required parameters that parse (the command body never runs)."""
    args: list[str] = []
    for p in command.params:
        if not p.required:
            continue
        value = "1" if p.metavar in ("N", "QTY", "DELTA") else "X"
        if p.type.name == "choice":
            first = p.type.choices[0]
            value = str(getattr(first, "value", first))
        if p.param_type_name == "argument":
            args.append(value)
        else:
            args += [p.opts[0], value]
    if not args and getattr(command, "no_args_is_help", False):
        args.append("X")  # e.g. `ecom report NAME`
    return args


class Reached(Exception):
    """Raised once a command's global options are resolved: its body does not run."""


@pytest.fixture
def stop_before_body(monkeypatch: pytest.MonkeyPatch) -> None:
    resolve = common.set_globals

    def resolve_then_stop(**kwargs: Any) -> None:
        resolve(**kwargs)
        raise Reached

    monkeypatch.setattr(common, "set_globals", resolve_then_stop)


def resolved(args: list[str]) -> dict[str, Any]:
    result = runner.invoke(app, args)
    assert isinstance(result.exception, Reached), (args, result.output, result.exception)
    s = common.settings
    return {"db": s.db, "format": s.format, "quiet": s.quiet, "verbose": s.verbose}


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
@pytest.mark.usefixtures("stop_before_body")
def test_global_options_before_and_after_the_command(path: tuple[str, ...], command: Any) -> None:
    names = option_names(command)
    given = ["--quiet", "--verbose"]
    if "--db" in names:
        given += ["--db", "sqlite:///elsewhere.db"]
    if "--csv" in names:
        given += ["--format", "json"]
    base = [*path, *dummy_args(command)]
    plain = resolved(base)
    before = resolved([*given, *base])
    after = resolved([*base, *given])
    assert before == after
    assert before["quiet"] and before["verbose"] and not plain["quiet"] and not plain["verbose"]
    if "--db" in names:
        assert before["db"] == "sqlite:///elsewhere.db" and plain["db"] is None
    if "--csv" in names:
        assert before["format"] == "json" and plain["format"] is None
        for flag, fmt in (("--csv", "csv"), ("--tsv", "tsv"), ("--nl", "ndjson")):
            assert resolved([flag, *base])["format"] == fmt
            assert resolved([*base, flag])["format"] == fmt


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_help_shows_placeholders_not_types(path: tuple[str, ...], command: Any) -> None:
    result = runner.invoke(app, [*path, "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert not re.search(r"<(str|bool|int|path|list\[\w+\])>", result.stdout), result.stdout


def test_root_help_and_known_placeholders() -> None:
    assert "<" not in runner.invoke(app, ["--help"], terminal_width=200).stdout
    place = runner.invoke(app, ["orders", "place", "--help"], terminal_width=200).stdout
    assert "PRODUCT:QTY" in place and "URL" in place
    assert "FILE" in runner.invoke(app, ["import", "--help"], terminal_width=200).stdout
    assert re.search(r"--limit\s+N\b", runner.invoke(app, ["customers", "list", "--help"],
                                                      terminal_width=200).stdout)


def test_db_and_format_before_or_after_give_the_same_result(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    assert runner.invoke(app, ["--db", url, "init-db"]).exit_code == 0
    assert (tmp_path / "shop.db").exists()
    before = runner.invoke(app, ["--db", url, "--format", "json", "status"])
    after = runner.invoke(app, ["status", "--db", url, "--format", "json"])
    assert before.exit_code == after.exit_code == 0
    assert before.stdout == after.stdout
    assert json.loads(before.stdout)["entities"]["orders"] == 0


def test_command_option_wins_over_the_one_before_it(tmp_path: Path) -> None:
    used, unused = tmp_path / "used.db", tmp_path / "unused.db"
    result = runner.invoke(app, ["--db", f"sqlite:///{unused}", "init-db", "--db",
                                 f"sqlite:///{used}"])
    assert result.exit_code == 0
    assert used.exists() and not unused.exists()


def test_quiet_before_or_after_silences_messages(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'q.db'}"
    assert runner.invoke(app, ["init-db", "--db", url]).stderr
    assert runner.invoke(app, ["-q", "init-db", "--db", url]).stderr == ""
    assert runner.invoke(app, ["init-db", "--db", url, "-q"]).stderr == ""


def test_two_formats_are_a_usage_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'f.db'}"
    result = runner.invoke(app, ["status", "--db", url, "--csv", "--nl"])
    assert result.exit_code == 2
    assert "one output format" in result.stderr


def test_tsv_output_of_list_matches_export(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 't.db'}"
    runner.invoke(app, ["--db", url, "init-db"])
    runner.invoke(app, ["--db", url, "customers", "add", "--customer-id", "C1",
                        "--first-name", "Ada", "--last-name", "Lovelace",
                        "--email", "ada@example.com"])
    listed = runner.invoke(app, ["--db", url, "customers", "list", "--format", "tsv"])
    exported = runner.invoke(app, ["--db", url, "export", "customers", "--tsv"])
    assert listed.exit_code == exported.exit_code == 0
    assert listed.stdout.splitlines()[0].split("\t")[:2] == ["customer_id", "first_name"]
    assert listed.stdout.splitlines()[1].split("\t")[:3] == ["C1", "Ada", "Lovelace"]
    assert listed.stdout == exported.stdout
