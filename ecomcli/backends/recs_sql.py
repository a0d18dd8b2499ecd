"""The recommender's tables on SQLite and MySQL: built inside the database, read by key.

`ecomcli.recommend` talks to these through `Repository.neighbour_tables()`. Four internal
tables (not entities: never imported, exported or counted):
- `recs_popular`: per bought product, its category, how many orders hold it and how many
  of the orders placed in the `recent_days` up to the store's last sale;
- `recs_neighbours`: per product its top-N co-purchased products by cosine
  (together^2 / (orders_a * orders_b), then neighbour_id), with the counts to re-weight;
- `recs_factors`: per product its ALS factor vector (float32 bytes), when fitted;

and in `ecom_meta`, the order-lines signature each was built from (`recs_lines` for the
first two, `recs_als` for the factors). Writes that change or delete stored lines, or
move an order to another customer, delete those rows (`forget`, called by the write path's
marks), as `init-db` does: the next `recommend` rebuilds.

Both engines run the same statements (window functions: SQLite 3.25+, MariaDB 10.2+,
MySQL 8); only the placeholder differs, which the repository gives.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

# Dropped and created again by each build: they are caches, and an older ecom's tables
# may lack a column.
TABLES = {
    "recs_popular": "(product_id VARCHAR(100) PRIMARY KEY, category_id VARCHAR(100), "
    "orders INTEGER NOT NULL, recent INTEGER NOT NULL)",
    "recs_neighbours": "(product_id VARCHAR(100) NOT NULL, rnk INTEGER NOT NULL, "
    "neighbour_id VARCHAR(100) NOT NULL, together INTEGER NOT NULL, orders_a INTEGER NOT NULL, "
    "orders_b INTEGER NOT NULL, PRIMARY KEY (product_id, rnk))",
}
FACTORS = "recs_factors (product_id VARCHAR(100) PRIMARY KEY, factors BLOB NOT NULL)"
BUILT = ("recs_lines", "recs_als")  # their rows in ecom_meta


def forget(store: Any) -> None:
    """Make the next `recommend` rebuild the tables and fit the factors again."""
    names = ", ".join(f"'{n}'" for n in BUILT)
    store.execute(f"DELETE FROM ecom_meta WHERE name IN ({names})").close()


def co_purchase_counts() -> str:
    """Per ordered pair of different products, in how many orders both appear (each pair
    in both directions). The basket report counts the same pairs: share this."""
    return (
        "SELECT a.product_id AS product_id, b.product_id AS neighbour_id, "
        "COUNT(DISTINCT a.order_id) AS together "
        "FROM order_items a JOIN order_items b "
        "ON b.order_id = a.order_id AND b.product_id <> a.product_id "
        "GROUP BY a.product_id, b.product_id"
    )


def top_neighbours(top_n_marker: str) -> str:
    """The first `top_n` neighbours of each product by cosine, joined to `recs_popular`.
    The score is a double on every engine (1e0), so ties are the same everywhere."""
    return (
        "SELECT product_id, rnk, neighbour_id, together, orders_a, orders_b FROM ("
        "SELECT x.product_id, x.neighbour_id, x.together, a.orders AS orders_a, "
        "b.orders AS orders_b, ROW_NUMBER() OVER (PARTITION BY x.product_id ORDER BY "
        "x.together * x.together / (a.orders * b.orders * 1e0) DESC, x.neighbour_id) AS rnk "
        f"FROM ({co_purchase_counts()}) x "
        "JOIN recs_popular a ON a.product_id = x.product_id "
        "JOIN recs_popular b ON b.product_id = x.neighbour_id"
        f") r WHERE rnk <= {top_n_marker}"
    )


class SQLNeighbours:
    def __init__(self, repo: Any) -> None:
        self.repo = repo
        self.ph = repo.placeholder

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cur = self.repo.execute(sql, params)
        try:
            return list(cur.fetchall())
        finally:
            cur.close()

    def _stream(self, sql: str) -> Iterator[tuple[Any, ...]]:
        """The rows of `sql`, fetched 10,000 at a time (memory: one batch)."""
        cur = self.repo.execute(sql)
        try:
            while batch := cur.fetchmany(10_000):
                yield from batch
        finally:
            cur.close()

    def _run(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.repo.execute(sql, params).close()

    def signature(self) -> str:
        """What changes whenever order lines are added or removed: their number and the
        first and last order id (index reads)."""
        (row,) = self._rows("SELECT COUNT(*), MIN(order_id), MAX(order_id) FROM order_items")
        return "|".join("" if v is None else str(v) for v in row)

    def built_from(self, name: str = "lines") -> str | None:
        rows = self._rows(f"SELECT value FROM ecom_meta WHERE name = {self.ph}",
                          (f"recs_{name}",))
        return rows[0][0] if rows else None

    def _built(self, name: str, signature: str) -> None:
        self._run(f"DELETE FROM ecom_meta WHERE name = {self.ph}", (f"recs_{name}",))
        self._run(f"INSERT INTO ecom_meta (name, value) VALUES ({self.ph}, {self.ph})",
                  (f"recs_{name}", signature))

    def _recent_cutoff(self, days: int) -> str:
        """The start of the last `days` days up to the store's last sale, as stored."""
        (last,) = self._rows("SELECT MAX(purchased_at) FROM orders")[0]
        if last is None:
            return "9999-12-31 23:59:59"
        if isinstance(last, str):
            last = datetime.fromisoformat(last)
        return (last - timedelta(days=days)).isoformat(sep=" ")

    def build(self, top_n: int, signature: str, recent_days: int) -> None:
        def work() -> None:
            self._run("DROP TABLE IF EXISTS recs_state")  # where an older ecom kept `BUILT`
            for table, columns in TABLES.items():
                self._run(f"DROP TABLE IF EXISTS {table}")
                self._run(f"CREATE TABLE {table} {columns}")
            self._run(
                "INSERT INTO recs_popular (product_id, category_id, orders, recent) "
                "SELECT i.product_id, MIN(p.category_id), COUNT(DISTINCT i.order_id), "
                f"COUNT(DISTINCT CASE WHEN o.purchased_at >= {self.ph} THEN i.order_id END) "
                "FROM order_items i JOIN products p ON p.product_id = i.product_id "
                "JOIN orders o ON o.order_id = i.order_id "
                "GROUP BY i.product_id",
                (self._recent_cutoff(recent_days),),
            )
            self._run(
                "INSERT INTO recs_neighbours "
                "(product_id, rnk, neighbour_id, together, orders_a, orders_b) "
                + top_neighbours(self.ph),
                (top_n,),
            )
            self._built("lines", signature)

        self.repo.atomic(work)

    def customer_products(self) -> Iterator[tuple[str, str, int]]:
        """(customer_id, product_id, orders of the customer holding it): ALS's input."""
        return self._stream(
            "SELECT o.customer_id, i.product_id, COUNT(DISTINCT o.order_id) FROM orders o "
            "JOIN order_items i ON i.order_id = o.order_id GROUP BY o.customer_id, i.product_id"
        )

    def save_factors(self, ids: Sequence[str], vectors: Sequence[bytes], signature: str
                     ) -> None:
        def work() -> None:
            self._run(f"DROP TABLE IF EXISTS {FACTORS.split()[0]}")
            self._run(f"CREATE TABLE {FACTORS}")
            self.repo.executemany(
                f"INSERT INTO recs_factors (product_id, factors) VALUES ({self.ph}, {self.ph})",
                list(zip(ids, vectors, strict=True)),
            )
            self._built("als", signature)

        self.repo.atomic(work)

    def factors(self) -> list[tuple[str, bytes]]:
        """(product_id, factor bytes), by product_id."""
        return [(p, bytes(b)) for p, b in
                self._rows("SELECT product_id, factors FROM recs_factors ORDER BY product_id")]

    def neighbours(self, products: Sequence[str]) -> list[tuple[Any, ...]]:
        """(product_id, neighbour_id, together, orders_a, orders_b) in rank order."""
        if not products:
            return []
        marks = ", ".join([self.ph] * len(products))
        return self._rows(
            "SELECT product_id, neighbour_id, together, orders_a, orders_b "
            f"FROM recs_neighbours WHERE product_id IN ({marks}) ORDER BY product_id, rnk",
            list(products),
        )

    def popular(self, limit: int, category: str | None = None, *, recent: bool = False
                ) -> list[tuple[Any, ...]]:
        """(product_id, category_id, orders), most ordered first, then product_id; with
        `recent`, the orders of the last days (products with none left out)."""
        count = "recent" if recent else "orders"
        where = [f"{count} > 0"]
        params: list[Any] = []
        if category is not None:
            where.append(f"category_id = {self.ph}")
            params.append(category)
        return self._rows(
            f"SELECT product_id, category_id, {count} FROM recs_popular "
            f"WHERE {' AND '.join(where)} ORDER BY {count} DESC, product_id LIMIT {self.ph}",
            [*params, limit],
        )

    def history(self, customer: str) -> list[tuple[Any, ...]]:
        """(product_id, order_id) of every line of a customer's orders."""
        return self._rows(
            "SELECT i.product_id, o.order_id FROM orders o "
            f"JOIN order_items i ON i.order_id = o.order_id WHERE o.customer_id = {self.ph}",
            (customer,),
        )

    def products(self, ids: Sequence[str]) -> dict[str, tuple[str, str | None]]:
        """product_id -> (name, category_id)."""
        if not ids:
            return {}
        marks = ", ".join([self.ph] * len(ids))
        rows = self._rows(
            f"SELECT product_id, name, category_id FROM products WHERE product_id IN ({marks})",
            list(ids),
        )
        return {r[0]: (r[1], r[2]) for r in rows}

    def lines(self) -> Iterator[tuple[Any, ...]]:
        """(customer_id, order_id, purchased_at, product_id) of every order line, by
        customer and time: the evaluation's input."""
        return self._stream(
            "SELECT o.customer_id, o.order_id, o.purchased_at, i.product_id FROM orders o "
            "JOIN order_items i ON i.order_id = o.order_id "
            "ORDER BY o.customer_id, o.purchased_at, o.order_id"
        )
