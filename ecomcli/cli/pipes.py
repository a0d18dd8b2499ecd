"""A reader that stops early (`ecom export orders | head`): leave at once and quietly.

The exit status is 141 (128 + SIGPIPE), what a shell reports for `cat` or `seq` in the
same place, so that `set -o pipefail` scripts still see the output was cut. ecom does not
restore the default SIGPIPE action to get it: that would also kill it silently on a write
to a database server's dead socket, which must be reported (exit 7).
"""

from __future__ import annotations

import contextlib
import os
import sys

import typer

CLOSED_STDOUT = 141


def closed_stdout() -> typer.Exit:
    """The Exit to raise once stdout's reader has gone. stdout is pointed at /dev/null
    first: Python's own flush at exit must not fail a second time and print about it."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return typer.Exit(CLOSED_STDOUT)
