"""Progress on stderr for long commands: a bar per entity for `export` and `copy`, and a
spinner for work whose length is unknown (a report whose summaries are being rebuilt
after new data) that appears only once it has taken more than a second.

Shown only on a terminal and never under --quiet, so scripts and pipes see nothing."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ecomcli.cli.common import settings, stderr

if TYPE_CHECKING:  # rich.progress loads when a bar or spinner is made (start-up: issue 25)
    from rich.progress import TaskID


def shown() -> bool:
    return not settings.quiet and stderr.is_terminal


class RowsBar:
    """`bar(name, done)`: rows of `name` done so far, against `total(name)` (None if
    unknown). Use as a context manager; a no-op when progress is not shown."""

    def __init__(self, total: Callable[[str], int | None]) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.total = total
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=stderr, transient=True, disable=not shown(),
        )
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> RowsBar:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(None, None, None)

    def __call__(self, name: str, done: int) -> None:
        if self.progress.disable:
            return
        if name not in self.tasks:
            self.tasks[name] = self.progress.add_task(name, total=self.total(name))
        self.progress.update(self.tasks[name], completed=done)


@contextmanager
def after_a_second(message: str, delay: float = 1.0) -> Iterator[None]:
    """A spinner saying `message` if the block is still running after `delay` seconds."""
    if not shown():
        yield
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    spinner = Progress(SpinnerColumn(), TextColumn(message), TimeElapsedColumn(),
                       console=stderr, transient=True)
    spinner.add_task(message, total=None)
    lock = threading.Lock()
    state = {"done": False, "started": False}

    def start() -> None:
        with lock:
            if not state["done"]:
                spinner.start()
                state["started"] = True

    timer = threading.Timer(delay, start)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        with lock:
            state["done"] = True
            if state["started"]:
                spinner.stop()
