"""One exception type for everything a user can get wrong, and the exit codes it maps to.

The library raises `EcomError` (or a subclass); the CLI prints its message on one line on
stderr and exits with its `exit_code`. Cron scripts depend on these codes: they are
documented in the README and must not change meaning.
"""

from __future__ import annotations

OK = 0
ERROR = 1  # anything fatal: bad input file, server error, ...
USAGE = 2  # wrong command-line usage
NOT_FOUND = 3  # a record, entity, report or file that does not exist
REJECTED_ROWS = 4  # an import finished but rejected some rows
CONFLICT = 5  # duplicate key, record still referenced, transition not allowed
OUT_OF_STOCK = 6  # an order asked for more units than are in stock
CONNECTION = 7  # cannot reach or log in to the database
AUTH_FAILED = 8  # `customers check-password`: the password does not match


class EcomError(Exception):
    """A user-facing error: `str(error)` is the one-line message, `exit_code` the exit code."""

    exit_code = ERROR

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(EcomError):
    exit_code = USAGE


class NotFoundError(EcomError):
    exit_code = NOT_FOUND


class MissingReference(NotFoundError):
    """A written row refers to a record that does not exist (a foreign key check)."""


class ConflictError(EcomError):
    exit_code = CONFLICT


class OutOfStockError(EcomError):
    exit_code = OUT_OF_STOCK


class ConnectionFailed(EcomError):
    exit_code = CONNECTION


class ReadOnly(EcomError):
    """The store refuses writes: a read-only account, replica, transaction or file."""


class TransientError(EcomError):
    """A write lost a race (deadlock, lock wait, busy file); `Repository.atomic` retries it."""


class ValidationError(EcomError):
    """A value does not fit its field. `field` names it; the message says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message
