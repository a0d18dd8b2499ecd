"""The recommender's tables on SQLite and MySQL: built inside the database, read by key.

`ecomcli.recommend` talks to these through `Repository.neighbour_tables()`. Three internal
tables (not entities: never imported, exported or counted):
- `recs_popular`: per bought product, its category and how many orders hold it;
- `recs_neighbours`: per product its top-N co-purchased products by cosine
  (together^2 / (orders_a * orders_b), then neighbour_id), with the counts to re-weight;
- `recs_state`: the order-lines signature the tables were built from.

Both engines run the same statements (window functions: SQLite 3.25+, MariaDB 10.2+,
MySQL 8); only the placeholder differs, which the repository gives.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

TABLES = (
    "CREATE TABLE IF NOT EXISTS recs_popular (product_id VARCHAR(100) PRIMARY KEY, "
    "category_id VARCHAR(100), orders INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS recs_neighbours (product_id VARCHAR(100) NOT NULL, "
    "rnk INTEGER NOT NULL, neighbour_id VARCHAR(100) NOT NULL, together INTEGER NOT NULL, "
    "orders_a INTEGER NOT NULL, orders_b INTEGER NOT NULL, PRIMARY KEY (product_id, rnk))",
    "CREATE TABLE IF NOT EXISTS recs_state (name VARCHAR(100) PRIMARY KEY, "
    "value VARCHAR(255) NOT NULL)",
)


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

    def _run(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.repo.execute(sql, params).close()

    def signature(self) -> str:
        """What changes whenever order lines are added or removed: their number and the
        first and last order id (index reads)."""
        (row,) = self._rows("SELECT COUNT(*), MIN(order_id), MAX(order_id) FROM order_items")
        return "|".join("" if v is None else str(v) for v in row)

    def built_from(self) -> str | None:
        try:
            rows = self._rows(f"SELECT value FROM recs_state WHERE name = {self.ph}", ("lines",))
        except Exception:  # no table yet: never built
            self.repo.conn.rollback()
            return None
        return rows[0][0] if rows else None

    def build(self, top_n: int, signature: str) -> None:
        def work() -> None:
            for ddl in TABLES:
                self._run(ddl)
            for table in ("recs_neighbours", "recs_popular", "recs_state"):
                self._run(f"DELETE FROM {table}")
            self._run(
                "INSERT INTO recs_popular (product_id, category_id, orders) "
                "SELECT i.product_id, MIN(p.category_id), COUNT(DISTINCT i.order_id) "
                "FROM order_items i JOIN products p ON p.product_id = i.product_id "
                "GROUP BY i.product_id"
            )
            self._run(
                "INSERT INTO recs_neighbours "
                "(product_id, rnk, neighbour_id, together, orders_a, orders_b) "
                + top_neighbours(self.ph),
                (top_n,),
            )
            self._run(
                f"INSERT INTO recs_state (name, value) VALUES ({self.ph}, {self.ph})",
                ("lines", signature),
            )

        self.repo.atomic(work)

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

    def popular(self, limit: int, category: str | None = None) -> list[tuple[Any, ...]]:
        """(product_id, category_id, orders), most ordered first, then product_id."""
        where = f"WHERE category_id = {self.ph} " if category is not None else ""
        params = [category] if category is not None else []
        return self._rows(
            f"SELECT product_id, category_id, orders FROM recs_popular {where}"
            f"ORDER BY orders DESC, product_id LIMIT {self.ph}",
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
        cur = self.repo.execute(
            "SELECT o.customer_id, o.order_id, o.purchased_at, i.product_id FROM orders o "
            "JOIN order_items i ON i.order_id = o.order_id "
            "ORDER BY o.customer_id, o.purchased_at, o.order_id"
        )
        try:
            while batch := cur.fetchmany(10_000):
                yield from batch
        finally:
            cur.close()
