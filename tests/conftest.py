"""Backend fixtures: every contract, import and report test runs on each backend.

- sqlite: a file in the test's tmp dir.
- mysql: `ECOM_TEST_MYSQL_URL` (a server URL whose database part is ignored) or
  mysql://root@127.0.0.1:3306; the session creates a uniquely named database and drops it.
- mongodb: `ECOM_TEST_MONGO_URL`, or a SecantusDB server started in-process on a random
  port for the session; each test gets its own database.

A server that cannot be reached fails the tests under CI=true and skips them (loudly)
otherwise. `ECOM_TEST_BACKENDS=sqlite,mysql` limits the backends.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

import ecomcli
from ecomcli.repository import Repository
from ecomcli.schema import stored_entities

ALL_BACKENDS = ("sqlite", "mysql", "mongodb")
BACKENDS = tuple(
    b for b in os.environ.get("ECOM_TEST_BACKENDS", ",".join(ALL_BACKENDS)).split(",") if b
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: a server test may not be skipped)", pytrace=False)
    pytest.skip(f"!!! {reason}: these tests did NOT run")


# --- servers (one per session) ----------------------------------------------------------


@pytest.fixture(scope="session")
def mysql_server() -> Iterator[str]:
    """A URL prefix `mysql://user[:pass]@host:port` with a fresh database behind it."""
    base = os.environ.get("ECOM_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/mysql")
    prefix = base.rsplit("/", 1)[0]
    name = f"ecom_test_{uuid.uuid4().hex[:10]}"
    try:
        import mysql.connector

        parsed = ecomcli.config.parse_url(base)
        conn = mysql.connector.connect(
            host=parsed.host,
            port=parsed.port or 3306,
            user=parsed.user,
            password=parsed.password or "",
            connection_timeout=5,
        )
    except Exception as e:
        unavailable(f"MySQL server at {ecomcli.config.mask_secret(prefix)} unreachable: {e}")
    cur = conn.cursor()
    cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        yield f"{prefix}/{name}"
    finally:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        for (db,) in list(_fetch(cur, f"SHOW DATABASES LIKE '{name}%'")):
            cur.execute(f"DROP DATABASE IF EXISTS `{db}`")
        conn.close()


def _fetch(cur, sql: str) -> list:  # type: ignore[no-untyped-def]
    cur.execute(sql)
    return cur.fetchall()


@pytest.fixture(scope="session")
def mongo_server() -> Iterator[str]:
    """A URL prefix `mongodb://host:port` of a running server."""
    external = os.environ.get("ECOM_TEST_MONGO_URL")
    if external:
        yield external.rstrip("/").rsplit("/", 1)[0] if external.count("/") > 2 else external
        return
    try:
        from secantus import SecantusDBServer
    except ImportError as e:
        unavailable(f"SecantusDB is not installed ({e}); pip install -e '.[dev]'")
    data = tempfile.mkdtemp(prefix="ecom-secantus-")
    server = SecantusDBServer(port=0, storage_path=data)
    server.start()
    host, port = server.address
    try:
        yield f"mongodb://{host}:{port}"
    finally:
        server.stop()
        shutil.rmtree(data, ignore_errors=True)


# --- a fresh, initialised store per test ------------------------------------------------


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The URL of an empty store with the schema created, on `backend`."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
        with ecomcli.connect(url) as store:
            store.init_schema()
        yield url
    elif backend == "mysql":
        url = request.getfixturevalue("mysql_server")
        with ecomcli.connect(url) as store:
            store.init_schema()
            empty(store)
        yield url
    else:
        prefix = request.getfixturevalue("mongo_server")
        url = f"{prefix}/ecom_test_{uuid.uuid4().hex[:10]}"
        with ecomcli.connect(url) as store:
            store.init_schema()
        yield url
        import pymongo

        client: pymongo.MongoClient = pymongo.MongoClient(prefix, serverSelectionTimeoutMS=3000)
        client.drop_database(url.rsplit("/", 1)[1])
        client.close()


@pytest.fixture
def store(db_url: str) -> Iterator[Repository]:
    with ecomcli.connect(db_url) as repo:
        yield repo


def empty(store: Repository) -> None:
    """Delete every row (children first), keeping the schema."""
    if store.backend == "mysql":
        # InnoDB checks a self-reference row by row: deleting the category tree in one
        # statement fails on a parent whose child is not deleted yet
        store.execute("SET foreign_key_checks = 0").close()  # type: ignore[attr-defined]
        for e in reversed(stored_entities()):
            store.execute(f"DELETE FROM `{e.name}`").close()  # type: ignore[attr-defined]
        store.conn.commit()  # type: ignore[attr-defined]
        store.execute("SET foreign_key_checks = 1").close()  # type: ignore[attr-defined]
    else:
        raise AssertionError(f"empty() not needed for {store.backend}")


def noting(store: Repository, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The statements `store` runs from now on."""
    statements: list[str] = []
    execute = store.execute  # type: ignore[attr-defined]

    def noted(sql: str, params: Any = ()) -> Any:
        statements.append(sql)
        return execute(sql, params)

    monkeypatch.setattr(store, "execute", noted)
    return statements


CART_PRODUCTS = [f"p{i}" for i in (7, 3, 9, 1, 5)]


def cart_lines() -> list[str]:
    """`cart_items.csv` records of 12 carts of 2 to 5 products each, a cart's products in
    no order: batches of 7 end inside carts."""
    return [f"k{c:02d},{p},{1 + (c + i) % 3}\n" for c in range(12)
            for i, p in enumerate(CART_PRODUCTS[: 2 + c % 4])]


def cart_parents(store: Repository) -> None:
    """What `cart_lines` refer to: the carts of one customer, the products."""
    from ecomcli.schema import entity
    from ecomcli.validation import Validator

    store.insert("customers", {"customer_id": "c1"})
    for p in CART_PRODUCTS:
        store.insert("products", Validator(entity("products"))(
            {"product_id": p, "name": p, "price": "1"}))
    for c in range(12):
        store.insert("carts", {"cart_id": f"k{c:02d}", "customer_id": "c1", "status": "open"})
