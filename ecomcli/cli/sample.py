"""TODO: filled in by its issue."""

from __future__ import annotations

from ecomcli.cli.common import App


def register(app: App) -> None:
    pass
