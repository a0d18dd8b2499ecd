"""The `ecom` console script: `ecom --version` answers here, before the command line
interface (Typer, Rich and every command module) is imported; everything else runs
`ecomcli.cli.main`."""

from __future__ import annotations

import sys


def version_line() -> str:
    import ecomcli

    return f"ecom {ecomcli.__version__}"


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        print(version_line())
        return
    from ecomcli import heap
    from ecomcli.cli import main as run

    heap.OWN_PROCESS = True
    run()
