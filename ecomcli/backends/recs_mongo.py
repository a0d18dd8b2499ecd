"""The recommender's collections on MongoDB: the same tables as `recs_sql`, built by
aggregation pipelines (order lines are embedded in `orders.items`).

- `recs_popular`: {_id: product_id, category_id, orders, recent};
- `recs_neighbours`: {product_id, rnk, neighbour_id, together, orders_a, orders_b};
- `recs_factors`: {_id: product_id, factors: float32 bytes};
- `recs_state`: {_id: "lines" or "als", value: signature}.

Only the top-N neighbours of each product leave the server.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

STATE = "recs_state"


def forget(db: Any, session: Any = None) -> None:
    """Make the next `recommend` rebuild the collections and fit the factors again."""
    db[STATE].delete_many({}, session=session)


def products_per_order() -> list[dict[str, Any]]:
    """Pipeline over `orders`: {_id: order_id, ps: its distinct products}."""
    return [
        {"$unwind": "$items"},
        {"$group": {"_id": "$_id", "ps": {"$addToSet": "$items.product_id"}}},
    ]


def co_purchase_counts() -> list[dict[str, Any]]:
    """Pipeline over `orders`: per ordered pair of different products, in how many orders
    both appear ({_id: {a, b}, together}). The basket report counts the same pairs."""
    return [
        *products_per_order(),
        {"$project": {"_id": 0, "a": "$ps", "b": "$ps"}},
        {"$unwind": "$a"},
        {"$unwind": "$b"},
        {"$match": {"$expr": {"$ne": ["$a", "$b"]}}},
        {"$group": {"_id": {"a": "$a", "b": "$b"}, "together": {"$sum": 1}}},
    ]


def _lookup(local: str, name: str) -> list[dict[str, Any]]:
    return [
        {"$lookup": {"from": "recs_popular", "localField": local, "foreignField": "_id",
                     "as": name}},
        {"$unwind": f"${name}"},
    ]


def top_neighbours(top_n: int) -> list[dict[str, Any]]:
    """The first `top_n` neighbours of each product by cosine (a double, then id)."""
    return [
        *co_purchase_counts(),
        *_lookup("_id.a", "pa"),
        *_lookup("_id.b", "pb"),
        {"$project": {
            "_id": 0, "product_id": "$_id.a", "neighbour_id": "$_id.b", "together": 1,
            "orders_a": "$pa.orders", "orders_b": "$pb.orders",
            "score": {"$divide": [{"$multiply": ["$together", "$together"]},
                                  {"$multiply": ["$pa.orders", "$pb.orders"]}]},
        }},
        {"$sort": {"product_id": 1, "score": -1, "neighbour_id": 1}},
        {"$group": {"_id": "$product_id", "top": {"$push": {
            "neighbour_id": "$neighbour_id", "together": "$together",
            "orders_a": "$orders_a", "orders_b": "$orders_b"}}}},
        {"$project": {"top": {"$slice": ["$top", top_n]}}},
    ]


class MongoNeighbours:
    def __init__(self, repo: Any) -> None:
        self.repo = repo
        self.db = repo.db

    def signature(self) -> str:
        orders = self.db["orders"]
        docs = list(orders.aggregate([
            {"$group": {"_id": None, "lines": {"$sum": {"$size": {"$ifNull": ["$items", []]}}},
                        "first": {"$min": "$_id"}, "last": {"$max": "$_id"}}},
        ]))
        if not docs or not docs[0]["lines"]:
            return "0||"
        d = docs[0]
        return f"{d['lines']}|{d['first']}|{d['last']}"

    def built_from(self, name: str = "lines") -> str | None:
        doc = self.db[STATE].find_one({"_id": name})
        return None if doc is None else doc["value"]

    def _recent_cutoff(self, days: int) -> datetime:
        last = next(iter(self.db["orders"].find({}, {"purchased_at": 1})
                         .sort("purchased_at", -1).limit(1)), None)
        if last is None:
            return datetime.max
        return last["purchased_at"] - timedelta(days=days)

    def build(self, top_n: int, signature: str, recent_days: int) -> None:
        db = self.db
        with self.repo.errors():
            db[STATE].delete_one({"_id": "lines"})
            db["recs_popular"].delete_many({})
            db["recs_neighbours"].delete_many({})
            cutoff = self._recent_cutoff(recent_days)
            popular = list(db["orders"].aggregate([
                {"$unwind": "$items"},
                {"$group": {"_id": {"o": "$_id", "p": "$items.product_id"},
                            "recent": {"$first": {"$gte": ["$purchased_at", cutoff]}}}},
                {"$group": {"_id": "$_id.p", "orders": {"$sum": 1},
                            "recent": {"$sum": {"$cond": ["$recent", 1, 0]}}}},
                {"$lookup": {"from": "products", "localField": "_id", "foreignField": "_id",
                             "as": "product"}},
                {"$unwind": {"path": "$product", "preserveNullAndEmptyArrays": True}},
                {"$project": {"orders": 1, "recent": 1,
                              "category_id": "$product.category_id"}},
            ], allowDiskUse=True))
            if popular:
                db["recs_popular"].insert_many(popular, ordered=False)
            batch: list[dict[str, Any]] = []
            for doc in db["orders"].aggregate(top_neighbours(top_n), allowDiskUse=True):
                for rnk, n in enumerate(doc["top"], 1):
                    batch.append({"product_id": doc["_id"], "rnk": rnk, **n})
                if len(batch) >= 10_000:
                    db["recs_neighbours"].insert_many(batch, ordered=False)
                    batch = []
            if batch:
                db["recs_neighbours"].insert_many(batch, ordered=False)
            db["recs_neighbours"].create_index([("product_id", 1), ("rnk", 1)])
            db["recs_popular"].create_index([("category_id", 1), ("orders", -1), ("_id", 1)])
            db[STATE].insert_one({"_id": "lines", "value": signature})

    def customer_products(self) -> Iterator[tuple[str, str, int]]:
        docs = self.db["orders"].aggregate([
            {"$unwind": "$items"},
            {"$group": {"_id": {"o": "$_id", "p": "$items.product_id"},
                        "c": {"$first": "$customer_id"}}},
            {"$group": {"_id": {"c": "$c", "p": "$_id.p"}, "n": {"$sum": 1}}},
        ], allowDiskUse=True)
        for d in docs:
            yield d["_id"]["c"], d["_id"]["p"], d["n"]

    def save_factors(self, ids: Sequence[str], vectors: Sequence[bytes], signature: str
                     ) -> None:
        db = self.db
        with self.repo.errors():
            db[STATE].delete_one({"_id": "als"})
            db["recs_factors"].delete_many({})
            docs = [{"_id": p, "factors": v} for p, v in zip(ids, vectors, strict=True)]
            for start in range(0, len(docs), 10_000):
                db["recs_factors"].insert_many(docs[start:start + 10_000], ordered=False)
            db[STATE].insert_one({"_id": "als", "value": signature})

    def factors(self) -> list[tuple[str, bytes]]:
        return [(d["_id"], bytes(d["factors"]))
                for d in self.db["recs_factors"].find().sort("_id", 1)]

    def neighbours(self, products: Sequence[str]) -> list[tuple[Any, ...]]:
        if not products:
            return []
        docs = self.db["recs_neighbours"].find(
            {"product_id": {"$in": list(products)}}
        ).sort([("product_id", 1), ("rnk", 1)])
        return [(d["product_id"], d["neighbour_id"], d["together"], d["orders_a"],
                 d["orders_b"]) for d in docs]

    def popular(self, limit: int, category: str | None = None, *, recent: bool = False
                ) -> list[tuple[Any, ...]]:
        count = "recent" if recent else "orders"
        query: dict[str, Any] = {count: {"$gt": 0}}
        if category is not None:
            query["category_id"] = category
        docs = self.db["recs_popular"].find(query).sort([(count, -1), ("_id", 1)]).limit(limit)
        return [(d["_id"], d.get("category_id"), d[count]) for d in docs]

    def history(self, customer: str) -> list[tuple[Any, ...]]:
        docs = self.db["orders"].find({"customer_id": customer}, {"items": 1})
        return [(i["product_id"], d["_id"]) for d in docs for i in d.get("items", [])]

    def products(self, ids: Sequence[str]) -> dict[str, tuple[str, str | None]]:
        if not ids:
            return {}
        docs = self.db["products"].find({"_id": {"$in": list(ids)}}, {"name": 1, "category_id": 1})
        return {d["_id"]: (d["name"], d.get("category_id")) for d in docs}

    def lines(self) -> Iterator[tuple[Any, ...]]:
        docs = self.db["orders"].find(
            {}, {"customer_id": 1, "purchased_at": 1, "items": 1}
        ).sort([("customer_id", 1), ("purchased_at", 1), ("_id", 1)])
        for d in docs:
            for i in d.get("items", []):
                yield d["customer_id"], d["_id"], d["purchased_at"], i["product_id"]
