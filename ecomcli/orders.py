"""The store's daily operations: placing orders safely, moving them along their
lifecycle, carts, wishlists and stock.

Every operation that changes stock runs in one transaction (`Repository.atomic`, which
retries transient conflicts) and takes stock with `Repository.add_stock`, a conditional
atomic update that never lets stock go below zero, however many processes buy at once.
Each change of stock is written down as a `stock_movements` row, so a product's current
stock can be explained (`stock_history`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ecomcli import schema
from ecomcli.errors import (
    ConflictError,
    NotFoundError,
    OutOfStockError,
    UsageError,
    ValidationError,
)
from ecomcli.records import new_id, now, record_movement
from ecomcli.repository import Filter, Query, Repository
from ecomcli.validation import converter, validate

# Which status an order may move to from each status.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "pending": ("paid", "cancelled"),
    "paid": ("shipped", "cancelled"),
    "shipped": ("delivered", "returned"),
    "delivered": ("returned",),
    "cancelled": (),
    "returned": (),
}
# The timestamp a status sets, and the stock movement reason of a status that restocks.
TIMESTAMPS = {"paid": "approved_at", "shipped": "shipped_at", "delivered": "delivered_at"}
RESTOCKS = {"cancelled": "cancel", "returned": "return"}


@dataclass(frozen=True)
class Line:
    product_id: str
    quantity: int


@dataclass
class OrderRequest:
    customer_id: str
    lines: Sequence[Line]
    payment_method: str | None = None
    delivery_partner_id: str | None = None
    cart_id: str | None = None


@dataclass
class PlacedOrder:
    order_id: str
    status: str
    total: Decimal
    lines: list[dict[str, Any]] = field(default_factory=list)


def parse_line(text: str) -> Line:
    """`PRODUCT:QTY` (or just `PRODUCT`, one unit)."""
    product, sep, qty = text.rpartition(":")
    if not sep:
        product, qty = text, "1"
    if not product.strip():
        raise UsageError(f"--item {text!r}: expected PRODUCT:QTY")
    return Line(product.strip(), parse_quantity(qty, f"--item {text!r}"))


def parse_quantity(text: str | int, where: str) -> int:
    try:
        qty = int(text)
    except ValueError:
        raise UsageError(f"{where}: quantity {text!r} is not a whole number") from None
    low, high = schema.entity("order_items").field("quantity").int_range
    if not low <= qty <= high:
        raise UsageError(f"{where}: quantity must be from {low} to {high}, got {qty}")
    return qty


def field_value(entity: str, name: str, value: Any) -> Any:
    """`value` converted for one field (e.g. an order status), or `ValidationError`."""
    try:
        return converter(schema.entity(entity).field(name))(value)
    except ValueError as e:
        raise ValidationError(name, str(e)) from None


# --- orders ---------------------------------------------------------------------------


def place_order(store: Repository, request: OrderRequest) -> PlacedOrder:
    """Take stock for every line, and record the order, its lines at current prices, its
    payment and its `sale` stock movements: all in one transaction, or nothing at all."""
    return store.atomic(lambda: _place(store, request))


def _place(store: Repository, request: OrderRequest) -> PlacedOrder:
    if not request.lines:
        raise UsageError("an order needs at least one line (--item PRODUCT:QTY)")
    method = None
    if request.payment_method is not None:
        method = field_value("payments", "method", request.payment_method)
    store.require("customers", (request.customer_id,))
    if request.delivery_partner_id is not None:
        store.require("delivery_partners", (request.delivery_partner_id,))
    products = []
    for i, line in enumerate(request.lines, 1):
        product = store.get("products", (line.product_id,))
        if product is None:
            raise NotFoundError(
                f"line {i} ({line.product_id}:{line.quantity}): "
                f"product {line.product_id!r} not found"
            )
        products.append(product)
    _take_stock(store, request.lines)

    order_id, at = new_id("o"), now()
    status = "paid" if method else "pending"
    store.insert(
        "orders",
        validate(
            schema.entity("orders"),
            {
                "order_id": order_id,
                "customer_id": request.customer_id,
                "cart_id": request.cart_id,
                "status": status,
                "purchased_at": at,
                "approved_at": at if method else None,
                "delivery_partner_id": request.delivery_partner_id,
            },
        ),
    )
    lines, total = [], Decimal("0.00")
    for i, (line, product) in enumerate(zip(request.lines, products, strict=True), 1):
        row = validate(
            schema.entity("order_items"),
            {
                "order_id": order_id,
                "line_no": i,
                "product_id": line.product_id,
                "quantity": line.quantity,
                "unit_price": product["price"],
            },
        )
        store.insert("order_items", row)
        record_movement(store, line.product_id, -line.quantity, "sale", order_id=order_id)
        lines.append(row)
        total += product["price"] * line.quantity
    if method:
        store.insert(
            "payments",
            validate(
                schema.entity("payments"),
                {
                    "payment_id": new_id("pay"),
                    "order_id": order_id,
                    "customer_id": request.customer_id,
                    "method": method,
                    "amount": total,
                    "paid_at": at,
                },
            ),
        )
    return PlacedOrder(order_id, status, total, lines)


def _take_stock(store: Repository, lines: Sequence[Line]) -> None:
    """Decrement every line's stock, or raise `OutOfStockError` naming the first line
    that lacks it. Units already taken are put back before raising, so that the stock is
    right even on a store whose transactions cannot roll back."""
    taken: list[Line] = []
    for i, line in enumerate(lines, 1):
        if store.add_stock(line.product_id, -line.quantity) is None:
            for done in reversed(taken):
                store.add_stock(done.product_id, done.quantity)
            left = store.require("products", (line.product_id,))["units_in_stock"]
            raise OutOfStockError(
                f"line {i} ({line.product_id}:{line.quantity}): out of stock, "
                f"{left} unit{'s' if left != 1 else ''} left"
            )
        taken.append(line)


def order_lines(store: Repository, order_id: str) -> list[dict[str, Any]]:
    return list(store.find("order_items", Query([Filter("order_id", "=", order_id)])))


def set_status(store: Repository, order_id: str, status: str) -> dict[str, Any]:
    """Move an order to `status` if its lifecycle allows it, setting the matching
    timestamp; cancelling or returning puts its units back in stock exactly once."""
    new = field_value("orders", "status", status)

    def work() -> dict[str, Any]:
        order = store.require("orders", (order_id,))
        old = order["status"]
        allowed = TRANSITIONS[old]
        if new not in allowed:
            to = f"it can move to {' or '.join(allowed)}" if allowed else "that is final"
            raise ConflictError(f"order {order_id!r} is {old}: cannot become {new}; {to}")
        changes: dict[str, Any] = {"status": new}
        if new in TIMESTAMPS:
            changes[TIMESTAMPS[new]] = now()
        # compare-and-set: of two concurrent changes from `old`, only one gets through
        if not store.update("orders", (order_id,), changes, expect={"status": old}):
            raise ConflictError(f"order {order_id!r} changed meanwhile: run the command again")
        if new in RESTOCKS:
            for line in order_lines(store, order_id):
                store.add_stock(line["product_id"], line["quantity"])
                record_movement(
                    store, line["product_id"], line["quantity"], RESTOCKS[new], order_id=order_id
                )
        return store.require("orders", (order_id,))

    return store.atomic(work)


# --- carts ----------------------------------------------------------------------------


def open_cart(store: Repository, customer_id: str, *, create: bool = False) -> dict | None:
    """The customer's open cart (the newest), created when asked and there is none."""
    query = Query(
        [Filter("customer_id", "=", customer_id), Filter("status", "=", "open")],
        sort=[("created_at", True)],
        limit=1,
    )
    found = next(iter(store.find("carts", query)), None)
    if found is not None or not create:
        return found
    store.require("customers", (customer_id,))
    at = now()
    row = validate(
        schema.entity("carts"),
        {
            "cart_id": new_id("cart"),
            "customer_id": customer_id,
            "status": "open",
            "created_at": at,
            "updated_at": at,
        },
    )
    store.insert("carts", row)
    return row


def cart_add(store: Repository, customer_id: str, product_id: str, quantity: int = 1) -> dict:
    """Put `quantity` units of a product in the customer's open cart (created if needed).
    Returns the cart line."""

    def work() -> dict:
        parse_quantity(quantity, "--qty")
        store.require("customers", (customer_id,))
        store.require("products", (product_id,))
        cart = open_cart(store, customer_id, create=True)
        assert cart is not None
        key = (cart["cart_id"], product_id)
        line = store.get("cart_items", key)
        if line is None:
            store.insert(
                "cart_items",
                validate(
                    schema.entity("cart_items"),
                    {
                        "cart_id": cart["cart_id"],
                        "product_id": product_id,
                        "quantity": quantity,
                        "added_at": now(),
                    },
                ),
            )
        else:
            store.update("cart_items", key, {"quantity": line["quantity"] + quantity})
        store.update("carts", (cart["cart_id"],), {"updated_at": now()})
        return store.require("cart_items", key)

    return store.atomic(work)


def cart_remove(
    store: Repository, customer_id: str, product_id: str, quantity: int | None = None
) -> int:
    """Take a product (or `quantity` units of it) out of the open cart; returns the units
    left on that line."""

    def work() -> int:
        cart = open_cart(store, customer_id)
        if cart is None:
            raise NotFoundError(f"customer {customer_id!r} has no open cart")
        key = (cart["cart_id"], product_id)
        line = store.get("cart_items", key)
        if line is None:
            raise NotFoundError(f"product {product_id!r} is not in the cart of {customer_id!r}")
        left = 0 if quantity is None else line["quantity"] - parse_quantity(quantity, "--qty")
        if left > 0:
            store.update("cart_items", key, {"quantity": left})
        else:
            store.delete("cart_items", key)
        store.update("carts", (cart["cart_id"],), {"updated_at": now()})
        return max(left, 0)

    return store.atomic(work)


def cart_lines(store: Repository, customer_id: str) -> list[dict[str, Any]]:
    """The open cart's lines with product name, current unit price and line total."""
    store.require("customers", (customer_id,))
    cart = open_cart(store, customer_id)
    if cart is None:
        return []
    out = []
    items = store.find("cart_items", Query([Filter("cart_id", "=", cart["cart_id"])]))
    for item in items:
        product = store.require("products", (item["product_id"],))
        out.append(
            {
                "cart_id": cart["cart_id"],
                "product_id": item["product_id"],
                "name": product["name"],
                "quantity": item["quantity"],
                "unit_price": product["price"],
                "line_total": product["price"] * item["quantity"],
                "in_stock": product["units_in_stock"],
            }
        )
    return out


def checkout(
    store: Repository,
    customer_id: str,
    *,
    payment_method: str | None = None,
    delivery_partner_id: str | None = None,
) -> PlacedOrder:
    """Place the open cart as an order (with `cart_id` set) and close the cart, in one
    transaction: out of stock, the cart stays open and nothing is written."""

    def work() -> PlacedOrder:
        cart = open_cart(store, customer_id)
        if cart is None:
            store.require("customers", (customer_id,))
            raise NotFoundError(f"customer {customer_id!r} has no open cart")
        items = list(store.find("cart_items", Query([Filter("cart_id", "=", cart["cart_id"])])))
        if not items:
            raise UsageError(f"cart {cart['cart_id']!r} is empty: nothing to check out")
        closed = store.update(
            "carts",
            (cart["cart_id"],),
            {"status": "checked_out", "updated_at": now()},
            expect={"status": "open"},
        )
        if not closed:
            raise ConflictError(f"cart {cart['cart_id']!r} was checked out meanwhile")
        request = OrderRequest(
            customer_id,
            [Line(i["product_id"], i["quantity"]) for i in items],
            payment_method,
            delivery_partner_id,
            cart["cart_id"],
        )
        return _place(store, request)

    return store.atomic(work)


# --- wishlists ------------------------------------------------------------------------


def wishlist_of(store: Repository, customer_id: str, *, create: bool = False) -> dict | None:
    query = Query([Filter("customer_id", "=", customer_id)], sort=[("created_at", False)], limit=1)
    found = next(iter(store.find("wishlists", query)), None)
    if found is not None or not create:
        return found
    store.require("customers", (customer_id,))
    row = validate(
        schema.entity("wishlists"),
        {
            "wishlist_id": new_id("wl"),
            "customer_id": customer_id,
            "name": "wishlist",
            "created_at": now(),
        },
    )
    store.insert("wishlists", row)
    return row


def wishlist_add(store: Repository, customer_id: str, product_id: str) -> bool:
    """Add a product to the customer's wishlist; False if it was already on it."""

    def work() -> bool:
        store.require("customers", (customer_id,))
        store.require("products", (product_id,))
        wishlist = wishlist_of(store, customer_id, create=True)
        assert wishlist is not None
        key = (wishlist["wishlist_id"], product_id)
        if store.get("wishlist_items", key) is not None:
            return False
        store.insert(
            "wishlist_items",
            validate(
                schema.entity("wishlist_items"),
                {"wishlist_id": key[0], "product_id": product_id, "added_at": now()},
            ),
        )
        return True

    return store.atomic(work)


def wishlist_remove(store: Repository, customer_id: str, product_id: str) -> None:
    def work() -> None:
        wishlist = wishlist_of(store, customer_id)
        key = (wishlist["wishlist_id"], product_id) if wishlist else None
        if key is None or not store.delete("wishlist_items", key):
            raise NotFoundError(f"product {product_id!r} is not on the wishlist of {customer_id!r}")

    store.atomic(work)


def wishlist_lines(store: Repository, customer_id: str) -> list[dict[str, Any]]:
    store.require("customers", (customer_id,))
    wishlist = wishlist_of(store, customer_id)
    if wishlist is None:
        return []
    out = []
    items = store.find(
        "wishlist_items", Query([Filter("wishlist_id", "=", wishlist["wishlist_id"])])
    )
    for item in items:
        product = store.require("products", (item["product_id"],))
        out.append(
            {
                "wishlist_id": wishlist["wishlist_id"],
                "product_id": item["product_id"],
                "name": product["name"],
                "price": product["price"],
                "in_stock": product["units_in_stock"],
                "added_at": item["added_at"],
            }
        )
    return out


# --- inventory ------------------------------------------------------------------------


def restock(store: Repository, product_id: str, quantity: int) -> int:
    """Add units received; returns the new stock."""
    parse_quantity(quantity, "restock")

    def work() -> int:
        stock = store.add_stock(product_id, quantity)
        assert stock is not None
        record_movement(store, product_id, quantity, "restock")
        return stock

    return store.atomic(work)


def adjust(store: Repository, product_id: str, delta: int, reason: str) -> int:
    """Correct the stock by `delta` (a count, breakage, ...) with a reason; never below 0."""
    if delta == 0:
        raise UsageError("adjust by 0 changes nothing")
    field_value("stock_movements", "delta", delta)  # within the documented bounds
    if not reason.strip():
        raise UsageError("--reason is required: say why the stock changes")

    def work() -> int:
        stock = store.add_stock(product_id, delta)
        if stock is None:
            left = store.require("products", (product_id,))["units_in_stock"]
            raise OutOfStockError(
                f"product {product_id!r} has {left} units: adjusting by {delta} would go below zero"
            )
        record_movement(store, product_id, delta, "adjust", note=reason.strip())
        return stock

    return store.atomic(work)


def stock_history(store: Repository, product_id: str) -> list[dict[str, Any]]:
    """A product's stock movements, oldest first, with the running balance. When the
    recorded movements do not add up to the current stock (rows imported without
    history), a first `unrecorded` line carries the difference."""
    product = store.require("products", (product_id,))
    query = Query([Filter("product_id", "=", product_id)], sort=[("created_at", False)])
    moves = list(store.find("stock_movements", query))
    opening = product["units_in_stock"] - sum(m["delta"] for m in moves)
    out: list[dict[str, Any]] = []
    balance = 0
    if opening:
        balance = opening
        out.append(
            {"created_at": None, "reason": "unrecorded", "delta": opening, "balance": balance}
        )
    for m in moves:
        balance += m["delta"]
        out.append({**m, "balance": balance})
    return out
