"""ecom: manage an online store's data and answer the questions a store asks of it.

    >>> import ecomcli
    >>> store = ecomcli.connect("sqlite:///shop.db")   # or mysql://..., mongodb://...
    >>> store.init_schema()
    >>> store.report("top-products", limit=3)          # a pandas DataFrame

The CLI (`ecom`) is a thin layer over these same calls.
"""

# Load mysql-connector's C extension before anything imports `ssl` or `hashlib`: its wheel
# vendors OpenSSL, and once the system libcrypto is in the process the extension fails to
# load and the connector silently falls back to pure Python (half the throughput).
# It costs ~3 ms (not the driver: `mysql.connector` loads on connecting).
try:  # noqa: SIM105
    import _mysql_connector  # noqa: F401
except ImportError:  # not installed, or no wheel for this platform: the backend warns
    pass

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ecomcli.errors import EcomError
    from ecomcli.repository import Filter, Mode, Query, Repository, connect

# imported on first use, so that `ecom --version` loads none of them
_FROM = {"EcomError": "ecomcli.errors", **dict.fromkeys(
    ("Filter", "Mode", "Query", "Repository", "connect"), "ecomcli.repository")}  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _FROM:
        from importlib import import_module

        return getattr(import_module(_FROM[name]), name)
    # the version is read from the installed metadata on use: importing
    # importlib.metadata (and the email package it needs) costs more than the rest of
    # `ecom --help`
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("ecom")
        except PackageNotFoundError:  # running from a source tree that is not installed
            return "0.0.0+source"
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["EcomError", "Filter", "Mode", "Query", "Repository", "__version__", "connect"]
