"""The embedded default: one SQLite file, nothing to install.

Foreign keys on, WAL journal (readers never block the writer), a busy timeout so that
several ecom processes can share one file, and `BEGIN IMMEDIATE` for every unit of work
so two writers never deadlock on a lock upgrade. Money and decimals are stored as
integers scaled by 10^scale (SQLite has no exact decimal type; REAL sums drift).
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from ecomcli.backends.sql import META_TABLE, SQLRepository, schema_file
from ecomcli.config import DbUrl
from ecomcli.errors import ConnectionFailed, EcomError, TransientError
from ecomcli.repository import InitResult
from ecomcli.schema import ENTITIES, SCHEMA_VERSION, Field

BUSY_TIMEOUT_MS = 30_000


class SQLiteRepository(SQLRepository):
    backend = "sqlite"
    dialect = "sqlite"
    placeholder = "?"
    no_limit = "-1"

    def __init__(self, url: DbUrl) -> None:
        self.url = url
        self.path = Path(url.database)
        if str(self.path) != ":memory:" and not self.path.parent.exists():
            raise ConnectionFailed(
                f"cannot open {url.masked}: folder {self.path.parent} does not exist"
            )
        try:
            self.conn = sqlite3.connect(
                url.database, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000
            )
            self.conn.execute("PRAGMA foreign_keys = ON")
            self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.DatabaseError as e:
            raise ConnectionFailed(f"cannot open {url.masked}: {e}") from None
        self._depth = 0

    def q(self, name: str) -> str:
        return f'"{name}"'

    def encode(self, f: Field, value: Any) -> Any:
        match f.type:
            case "money" | "decimal":
                return int(Decimal(value).scaleb(f.scale))
            case "datetime":
                return value.isoformat(sep=" ") if isinstance(value, datetime) else value
            case "date":
                return value.isoformat() if isinstance(value, date) else value
            case "bool":
                return int(value)
        return value

    def decode(self, f: Field, value: Any) -> Any:
        match f.type:
            case "money" | "decimal":
                return Decimal(value).scaleb(-f.scale)
            case "datetime":
                return datetime.fromisoformat(value)
            case "date":
                return date.fromisoformat(value)
            case "bool":
                return bool(value)
        return value

    def _begin(self) -> None:
        self.execute("BEGIN IMMEDIATE").close()

    def _translate(self, error: Exception) -> Exception | None:
        if isinstance(error, sqlite3.OperationalError):
            text = str(error)
            if "locked" in text or "busy" in text:
                return TransientError(f"{self.url.masked} is busy: {text}")
            if "no such table" in text:
                return EcomError(
                    f"{self.url.masked} has no ecom schema ({text}): run `ecom init-db` first"
                )
        if isinstance(error, sqlite3.IntegrityError):
            return EcomError(f"integrity error: {error}")
        if isinstance(error, sqlite3.DatabaseError) and "not a database" in str(error):
            return ConnectionFailed(f"cannot open {self.url.masked}: file is not a database")
        return None

    def tables(self) -> set[str]:
        cur = self.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        names = {r[0] for r in cur.fetchall()}
        cur.close()
        return names

    def init_schema(self, *, drop: bool = False) -> InitResult:
        if drop:
            self.conn.execute("PRAGMA foreign_keys = OFF")
            for e in reversed(ENTITIES):
                self.execute(f"DROP TABLE IF EXISTS {self.q(e.name)}").close()
            self.execute(f"DROP TABLE IF EXISTS {self.q(META_TABLE)}").close()
            self.conn.execute("PRAGMA foreign_keys = ON")
        before = self.tables()
        wanted = [META_TABLE, *(e.name for e in ENTITIES)]
        version = self.schema_version()
        if version is not None and version > SCHEMA_VERSION:
            raise EcomError(
                f"{self.url.masked} has schema version {version}, newer than this ecom "
                f"({SCHEMA_VERSION}): upgrade ecom"
            )
        with self.transaction():
            self._run_script(schema_file("sqlite").read_text())
        created = [name for name in wanted if name not in before]
        return InitResult(created=created, version=SCHEMA_VERSION)

    def close(self) -> None:
        self.conn.close()
