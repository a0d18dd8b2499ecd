"""ecom: manage an online store's data and answer the questions a store asks of it.

    >>> import ecomcli
    >>> store = ecomcli.connect("sqlite:///shop.db")   # or mysql://..., mongodb://...
    >>> store.init_schema()
    >>> store.report("top-products", limit=3)          # a pandas DataFrame

The CLI (`ecom`) is a thin layer over these same calls.
"""

from importlib.metadata import PackageNotFoundError, version

from ecomcli.errors import EcomError
from ecomcli.repository import Filter, Mode, Query, Repository, connect

try:
    __version__ = version("ecom")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"

__all__ = ["EcomError", "Filter", "Mode", "Query", "Repository", "__version__", "connect"]
