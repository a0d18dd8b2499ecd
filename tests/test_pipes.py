"""`ecom ... | head`: a reader that stops early ends ecom at once, quietly, with 141."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import ecomcli
from ecomcli.importing import import_paths

ECOM = str(Path(sys.executable).parent / "ecom")
SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('pipes') / 'store.db'}"
    with ecomcli.connect(url) as store:
        store.init_schema()
        import_paths(store, [SAMPLE])
    return url


@pytest.mark.parametrize(
    ("command", "lines"),
    [
        (["customers", "list"], 3),
        (["report", "customer-orders"], 1),
        (["export", "order_items"], 2),
    ],
)
def test_head_closing_the_pipe_ends_ecom_quietly(
    sample_store: str, command: list[str], lines: int
) -> None:
    """As in `ecom export order_items | head -2`: the reader takes its lines and goes."""
    ecom = subprocess.Popen(
        [ECOM, *command, "--db", sample_store], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    head = subprocess.run(["head", f"-{lines}"], stdin=ecom.stdout, capture_output=True)
    assert ecom.stdout is not None
    ecom.stdout.close()  # only `head` held the reading end: now nobody does
    _, err = ecom.communicate(timeout=60)
    assert len(head.stdout.splitlines()) == lines
    assert err == b""
    assert ecom.returncode in (0, 141)  # 0 when ecom wrote everything before head left


@pytest.mark.parametrize(
    "command", [["customers", "list"], ["report", "customer-orders"], ["export", "order_items"]]
)
def test_a_reader_gone_before_the_first_row_gives_141_and_no_message(
    sample_store: str, command: list[str]
) -> None:
    ecom = subprocess.Popen(
        [ECOM, *command, "--db", sample_store], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert ecom.stdout is not None
    ecom.stdout.close()  # before ecom has written anything (it takes ~0.3 s to start)
    _, err = ecom.communicate(timeout=60)
    assert err == b""
    assert ecom.returncode == 141
