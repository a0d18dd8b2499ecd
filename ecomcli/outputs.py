"""Files a command writes: never onto the store or an input, never half-written.

`refuse_clobber` is the one check every option that writes a file goes through (report
`--output` and `--chart`, export `--out`, import `--rejects` and the default rejects
files): a path that resolves, through symlinks, relative parts or hard links, to the
store's own files or to one of the command's inputs is a usage error naming both.

`replacing` writes a file through a temporary file in the same folder, renamed over the
target only once complete: a failure (a full disk, a lost server, Ctrl-C) leaves the
user's earlier file as it was and no partial one.
"""

from __future__ import annotations

import gzip
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from ecomcli.errors import EcomError, UsageError


def _identity(path: Path) -> tuple[str, tuple[int, int] | None]:
    """The resolved path, and the file's (device, inode) when it exists (hard links)."""
    try:
        st = path.stat()
        inode: tuple[int, int] | None = (st.st_dev, st.st_ino)
    except OSError:
        inode = None
    return os.path.realpath(path), inode


def refuse_clobber(
    outputs: Iterable[tuple[str, Path | None]],
    store: Iterable[Path] = (),
    inputs: Iterable[Path] = (),
    store_name: str = "",
) -> None:
    """Raise `UsageError` if an output (`(option, path)`; None: not given) is the store, one
    of its files (`store`), an input, or another output of the same command."""
    taken: list[tuple[str, Path, tuple[str, tuple[int, int] | None]]] = []
    taken += [(f"the store {store_name}".rstrip(), p, _identity(p)) for p in store]
    taken += [(f"the input {p}", p, _identity(p)) for p in inputs]
    for option, path in outputs:
        if path is None:
            continue
        real, inode = _identity(path)
        for what, other, (other_real, other_inode) in taken:
            if real == other_real or (inode is not None and inode == other_inode):
                shown = "" if str(other) in what else f" ({other})"
                raise UsageError(
                    f"{option} {path} is {what}{shown}: refusing to overwrite it, "
                    "choose another file"
                )
        taken.append((f"also {option}", path, (real, inode)))


def _mode_for(path: Path) -> int:
    """The permissions the file would get if opened in place: the old file's, else the
    umask's (a temporary file is created private)."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary path next to `path` (same suffix, for writers that go by it) to write;
    renamed to `path` when the block ends without an error, deleted otherwise."""
    path = Path(path)
    try:
        fd, name = tempfile.mkstemp(
            prefix=f".{path.stem}.", suffix=path.suffix or ".tmp", dir=path.parent
        )
    except OSError as e:  # no such folder, no permission, a read-only file system
        raise EcomError(f"cannot write {path}: {e.strerror or e}") from None
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def open_replacing(path: Path, gz: bool | None = None) -> Iterator[IO[Any]]:
    """A text file (UTF-8, newlines as written; gzip for `*.gz`) that replaces `path`
    whole when the block ends without an error."""
    path = Path(path)
    gz = path.name.endswith(".gz") if gz is None else gz
    with replacing(path) as tmp:
        opener: Any = gzip.open if gz else open
        with opener(tmp, "wt", encoding="utf-8", newline="") as fh:
            yield fh


class Replacing:
    """`open_replacing` for a file opened now and finished later (`close`): a rejects file
    is written row by row as rows are rejected."""

    def __init__(self, path: Path) -> None:
        self._ctx = open_replacing(path)
        self.file: IO[Any] = self._ctx.__enter__()

    def close(self) -> None:
        self._ctx.__exit__(None, None, None)
