"""`ecom` starts without loading what only some commands need (issue 25): the data
libraries, the charting and forecasting stacks and the database drivers load on the
paths that use them, so `ecom --help` or `ecom orders place` does not pay for them."""

from __future__ import annotations

import json
import subprocess
import sys

# top-level packages that `import ecomcli.cli` must not load (mysql-connector's C
# extension `_mysql_connector` is loaded on purpose, first: see ecomcli/__init__.py)
HEAVY = ("pandas", "matplotlib", "statsmodels", "numpy", "scipy", "PIL", "mysql", "pymongo",
         "bson")  # fmt: skip


def loaded_after(statement: str) -> set[str]:
    """The top-level packages in sys.modules after `statement`, in a fresh interpreter."""
    code = f"{statement}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return {name.split(".")[0] for name in json.loads(out)}


def test_importing_the_cli_loads_no_heavy_library_or_driver() -> None:
    assert loaded_after("import ecomcli.cli") & set(HEAVY) == set()


def test_the_check_sees_a_heavy_library_once_it_is_loaded() -> None:
    assert "numpy" in loaded_after("import ecomcli.cli, numpy")


def test_the_version_metadata_is_read_only_when_asked() -> None:
    assert "email" not in loaded_after("import ecomcli.cli")
    assert "email" in loaded_after("import ecomcli\necomcli.__version__")
