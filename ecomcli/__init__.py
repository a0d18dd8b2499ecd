"""ecom: manage an online store's data and answer the questions a store asks of it.

    >>> import ecomcli
    >>> store = ecomcli.connect("sqlite:///shop.db")   # or mysql://..., mongodb://...
    >>> store.init_schema()
    >>> store.report("top-products", limit=3)          # a pandas DataFrame

The CLI (`ecom`) is a thin layer over these same calls.
"""

# Load mysql-connector's C extension before anything imports `ssl`: its wheel vendors
# OpenSSL, and once the system libssl is in the process the extension fails to load and
# the connector silently falls back to pure Python (half the throughput). PERF-NOTES trap 1.
try:  # noqa: SIM105
    import _mysql_connector  # noqa: F401
except ImportError:  # not installed, or no wheel for this platform: the backend warns
    pass

from importlib.metadata import PackageNotFoundError, version

from ecomcli.errors import EcomError
from ecomcli.repository import Filter, Mode, Query, Repository, connect

try:
    __version__ = version("ecom")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"

__all__ = ["EcomError", "Filter", "Mode", "Query", "Repository", "__version__", "connect"]
