"""What the recommender's stored tables (`recs_sql`, `recs_mongo`) are built from, so
that the write paths know which writes make them stale: which products each order holds,
and whose the order is. Prices, quantities and statuses do not count."""

from __future__ import annotations

INPUTS = {"order_items": {"order_id", "product_id"}, "orders": {"customer_id"}}


def changes_inputs(entity: str, fields: set[str] | None) -> bool:
    """Whether a write of `fields` (None: whole rows, or a delete) of stored rows of
    `entity` may change what the tables were built from."""
    inputs = INPUTS.get(entity)
    return inputs is not None and (fields is None or bool(fields & inputs))
