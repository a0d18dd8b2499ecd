"""Keeping a long import's resident memory near what it holds at once.

An import lets go of each batch once it is written, yet its resident memory kept growing
batch after batch: the C library's malloc (glibc) keeps the pages it frees for its own
later use, in one heap per thread, and Arrow allocates from its own pool (mimalloc),
which keeps its pages too. So while the columnar lane reads (`arrow_on_malloc`), Arrow
allocates with malloc, and after each batch is written `give_back` hands the free pages
of malloc's heaps back to the system (glibc only: elsewhere it does nothing). In ecom's
own process an import also has malloc map every block of 128 KB or more on its own
(`map_large_blocks`): by default glibc raises that threshold to the size of the largest
such block freed (up to 32 MB) and serves blocks under it from its heaps, which left the
peak of an import higher, and different from one run to the next.

And in ecom's own process (`launch.main`, not a library user's), pyarrow does not load
pandas for the columnar lane: it imports pandas the first time it converts any Python
value (a scalar in a comparison), only to ask whether the value is a pandas object, and
pandas costs the process ~35 MB. An import never hands pyarrow a pandas object.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

OWN_PROCESS = False  # set by `launch.main`: the process is the `ecom` command's
M_MMAP_THRESHOLD = -3  # mallopt's parameter (glibc's malloc.h)
MAPPED_FROM = 128 * 1024  # glibc's own starting threshold, kept from then on


@cache
def _glibc() -> Any:
    """The C library when it is glibc (it has `malloc_trim` and `mallopt`), else None."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes  # here: `launch` imports this module for every command

    try:
        libc = ctypes.CDLL(None)  # the symbols the process has loaded, the C library's
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None


def map_large_blocks() -> None:
    """In ecom's own process, with glibc: malloc maps blocks from 128 KB up on their own
    from now on, for good (a library user's process keeps its own settings)."""
    libc = _glibc()
    if OWN_PROCESS and libc is not None:
        libc.mallopt(M_MMAP_THRESHOLD, MAPPED_FROM)


def give_back() -> None:
    """Return the free pages of malloc's heaps to the system (0.1-0.2 ms measured)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


@contextmanager
def arrow_on_malloc() -> Iterator[None]:
    """Arrow allocates with malloc meanwhile, not from its own pool (pyarrow is loaded:
    the columnar lane's reader uses this)."""
    import pyarrow as pa

    if OWN_PROCESS:
        _arrow_without_pandas(pa)
    before = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(before)


def _arrow_without_pandas(pa: Any) -> None:
    """Have pyarrow find pandas missing at its first look (when pandas is not loaded
    yet). pyarrow remembers the answer for the conversions that merely ask, and looks
    again, finding pandas, wherever it needs pandas itself (`to_pandas`)."""
    if "pandas" in sys.modules:
        return
    guard = _NoPandas()
    sys.meta_path.insert(0, guard)
    try:
        pa.scalar(0)  # pyarrow's first look
    finally:
        sys.meta_path.remove(guard)


class _NoPandas:
    """An import hook that finds no pandas."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "pandas":
            raise ImportError("pandas is not loaded for pyarrow in an ecom import")
