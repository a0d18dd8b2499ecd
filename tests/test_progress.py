"""Progress on stderr: bars on `export` and `copy`, a spinner on a report that takes more
than a second; only on a terminal, never under --quiet, never on stdout."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from ecomcli.cli import app, progress

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('p') / 'shop.db'}"
    assert runner.invoke(app, ["--db", url, "init-db"]).exit_code == 0
    result = runner.invoke(app, ["--db", url, "import", str(ROOT / "sample_data"), "-q"])
    assert result.exit_code == 0, result.stderr
    return url


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """stderr as a terminal (what a person at a shell sees)."""
    screen = io.StringIO()
    monkeypatch.setattr(progress, "stderr", Console(file=screen, force_terminal=True,
                                                    width=120))
    return screen


def test_export_and_copy_show_bars_on_a_terminal(sample_db: str, terminal: io.StringIO,
                                                 tmp_path: Path) -> None:
    out = runner.invoke(app, ["--db", sample_db, "export", "orders", "-o",
                              str(tmp_path / "o.csv")])
    assert out.exit_code == 0
    assert "orders" in terminal.getvalue() and "/5000" in terminal.getvalue()
    terminal.truncate(0)
    copied = runner.invoke(app, ["copy", "--from", sample_db, "--to",
                                 f"sqlite:///{tmp_path / 'copy.db'}", "-e", "customers"])
    assert copied.exit_code == 0, copied.stderr
    assert "customers" in terminal.getvalue() and "/1000" in terminal.getvalue()


def test_no_bar_under_quiet_or_off_a_terminal(sample_db: str, terminal: io.StringIO,
                                              tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    quiet = runner.invoke(app, ["--db", sample_db, "export", "orders", "-q", "-o",
                                str(tmp_path / "o.csv")])
    assert quiet.exit_code == 0 and terminal.getvalue() == ""
    monkeypatch.setattr(progress.settings, "quiet", False)
    assert progress.shown()
    monkeypatch.setattr(progress, "stderr", Console(file=io.StringIO(), force_terminal=False))
    assert not progress.shown()


def test_the_spinner_waits_a_second(terminal: io.StringIO,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress.settings, "quiet", False)
    with progress.after_a_second("building summaries", delay=0.05):
        pass
    assert terminal.getvalue() == ""  # quick work: nothing shown
    with progress.after_a_second("building summaries", delay=0.05):
        time.sleep(0.3)
    assert "building summaries" in terminal.getvalue()
