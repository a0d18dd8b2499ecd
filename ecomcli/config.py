"""Where the store lives: parsing `--db` URLs, defaults, and masking secrets.

    sqlite:///relative.db          sqlite:////abs/path.db
    mysql://user[:pass]@host[:port]/dbname
    mongodb://[user[:pass]@]host[:port]/dbname     mongodb+srv://...

`--db` wins over `ECOM_DB`, which wins over `sqlite:///ecom.db`. A password may come from
`ECOM_DB_PASSWORD` so that it stays out of shell history. `DbUrl.masked` is the only form
of a URL that may be printed or logged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from ecomcli.errors import UsageError

DEFAULT_URL = "sqlite:///ecom.db"
SCHEMES = {"sqlite": "sqlite", "mysql": "mysql", "mongodb": "mongodb", "mongodb+srv": "mongodb"}
FILE_BACKENDS = frozenset({"sqlite"})  # a URL that names a file: no host, no password


@dataclass(frozen=True)
class DbUrl:
    scheme: str
    backend: str  # sqlite | mysql | mongodb
    database: str  # file path for sqlite, database name otherwise
    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    options: dict[str, str] = field(default_factory=dict)
    raw: str = field(default="", repr=False)

    @property
    def masked(self) -> str:
        """The URL with any password replaced by `***`: safe to print."""
        if self.backend in FILE_BACKENDS:
            return self.raw
        auth = ""
        if self.user:
            auth = self.user + (":***" if self.password else "") + "@"
        port = f":{self.port}" if self.port else ""
        return f"{self.scheme}://{auth}{self.host or ''}{port}/{self.database}"

    def __str__(self) -> str:
        return self.masked


def resolve_url(url: str | None = None) -> str:
    """The URL to use: the argument, else `ECOM_DB`, else the embedded default."""
    return url or os.environ.get("ECOM_DB") or DEFAULT_URL


def parse_url(url: str | None = None) -> DbUrl:
    raw = resolve_url(url)
    scheme, sep, rest = raw.partition("://")
    if not sep or scheme.lower() not in SCHEMES:
        shown = scheme if sep else raw
        raise UsageError(
            f"unsupported database URL {mask_secret(shown)!r}: use one of "
            "sqlite:///FILE, mysql://USER@HOST[:PORT]/DB, mongodb://[USER@]HOST[:PORT]/DB, "
            "mongodb+srv://..."
        )
    scheme = scheme.lower()
    backend = SCHEMES[scheme]
    if backend in FILE_BACKENDS:
        path = rest[1:] if rest.startswith("/") else rest
        if not path:
            raise UsageError("sqlite URL needs a file: sqlite:///relative.db or sqlite:////abs.db")
        return DbUrl(scheme, backend, database=path, raw=raw)
    parts = urlsplit(raw)
    try:
        port = parts.port
    except ValueError:
        raise UsageError(f"bad port in database URL {mask_secret(raw)!r}") from None
    database = unquote(parts.path.lstrip("/"))
    if not database:
        raise UsageError(f"database URL {mask_secret(raw)!r} names no database: add /DBNAME")
    password = unquote(parts.password) if parts.password is not None else None
    password = password or os.environ.get("ECOM_DB_PASSWORD") or None
    return DbUrl(
        scheme,
        backend,
        database=database,
        host=parts.hostname or "localhost",
        port=port,
        user=unquote(parts.username) if parts.username else None,
        password=password,
        options=dict(parse_qsl(parts.query)),
        raw=raw,
    )


def mask_secret(text: str) -> str:
    """Replace the password of any `scheme://user:password@` in `text` with `***`."""
    out, start = [], 0
    while (i := text.find("://", start)) != -1:
        at = text.find("@", i)
        end = min((p for p in (text.find(c, i + 3) for c in " /'\"") if p != -1), default=len(text))
        colon = text.find(":", i + 3)
        if at != -1 and at < end and colon != -1 and colon < at:
            out.append(text[start : colon + 1] + "***")
            start = at
        else:
            out.append(text[start : i + 3])
            start = i + 3
    out.append(text[start:])
    return "".join(out)
