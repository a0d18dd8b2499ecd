"""Orders placed safely, their lifecycle, carts, wishlists, stock and passwords, through
the CLI on every backend."""

from __future__ import annotations

from decimal import Decimal

import pytest
from test_records import Ecom

import ecomcli
from ecomcli import Filter, Query, accounts, errors
from ecomcli.repository import Repository


@pytest.fixture
def ecom(db_url: str) -> Ecom:
    e = Ecom(db_url)
    e.ok("customers", "add", "--customer-id", "c1", "--email", "ada@example.com")
    e.ok("customers", "add", "--customer-id", "c2")
    e.ok("products add --product-id shoe --name Shoe --price 19.99 --units-in-stock 5")
    e.ok("products add --product-id sock --name Sock --price 0.10 --units-in-stock 100")
    e.ok("products", "add", "--product-id", "hat", "--name", "Hat", "--price", "7.00")
    e.ok("delivery-partners", "add", "--partner-id", "dhl", "--name", "DHL")
    return e


def stock(ecom: Ecom, product: str) -> int:
    return ecom.json("products", "get", product)["units_in_stock"]  # type: ignore[index]


def store_of(ecom: Ecom) -> Repository:
    return ecomcli.connect(ecom.db_url)


def place(ecom: Ecom, options: str) -> str:
    out = ecom.ok(f"orders place {options}")
    assert len(out.splitlines()) == 1, "stdout is just the order id"
    return out.strip()


def test_place_order_takes_stock_and_records_everything(ecom: Ecom) -> None:
    order_id = place(
        ecom,
        "--customer c1 --item shoe:2 --item sock:3 --payment-method credit_card "
        "--delivery-partner dhl",
    )
    assert (stock(ecom, "shoe"), stock(ecom, "sock")) == (3, 97)
    order = ecom.json("orders", "get", order_id)
    assert (order["status"], order["customer_id"], order["delivery_partner_id"]) == (
        "paid",
        "c1",
        "dhl",
    )
    assert order["approved_at"] == order["purchased_at"]
    lines = ecom.json("order-items", "list", "-w", f"order_id={order_id}")
    assert [(r["line_no"], r["product_id"], r["quantity"], r["unit_price"]) for r in lines] == [
        (1, "shoe", 2, "19.99"),
        (2, "sock", 3, "0.10"),
    ]
    (payment,) = ecom.json("payments", "list", "-w", f"order_id={order_id}")  # type: ignore[misc]
    assert (payment["amount"], payment["method"], payment["customer_id"]) == (
        "40.28",
        "credit_card",
        "c1",
    )
    moves = ecom.json(
        "stock-movements", "list", "-w", f"order_id={order_id}", "--sort", "product_id"
    )
    assert [(m["product_id"], m["delta"], m["reason"]) for m in moves] == [
        ("shoe", -2, "sale"),
        ("sock", -3, "sale"),
    ]


def test_unit_prices_are_those_at_the_time_of_sale(ecom: Ecom) -> None:
    first = place(ecom, "-c c1 -i shoe:1")
    ecom.ok("products", "update", "shoe", "--price", "25.00")
    second = place(ecom, "-c c1 -i shoe")
    assert ecom.json("order-items", "get", f"{first}:1")["unit_price"] == "19.99"
    assert ecom.json("order-items", "get", f"{second}:1")["unit_price"] == "25.00"
    assert ecom.json("orders", "get", first)["status"] == "pending"  # no payment method
    assert ecom.json("payments", "list") == []


def test_an_order_that_cannot_be_filled_writes_nothing(ecom: Ecom) -> None:
    result = ecom("orders", "place", "-c", "c1", "-i", "sock:2", "-i", "shoe:6", "-i", "hat:1")
    assert result.exit_code == errors.OUT_OF_STOCK
    assert result.stderr.strip() == "error: line 2 (shoe:6): out of stock, 5 units left"
    assert result.stdout == ""
    unknown = ecom("orders", "place", "-c", "c1", "-i", "sock:2", "-i", "boot:1")
    assert unknown.exit_code == errors.NOT_FOUND
    assert "line 2 (boot:1): product 'boot' not found" in unknown.stderr
    nobody = ecom("orders", "place", "-c", "zed", "-i", "sock:2")
    assert nobody.exit_code == errors.NOT_FOUND and "'zed' not found" in nobody.stderr
    bad = ecom("orders", "place", "-c", "c1", "-i", "sock:0")
    assert bad.exit_code == errors.USAGE
    assert ecom("orders", "place", "-c", "c1", "-i", "sock:1", "--payment-method", "gold").exit_code
    assert (stock(ecom, "sock"), stock(ecom, "shoe")) == (100, 5)
    for entity in ("orders", "order-items", "payments"):
        assert ecom.json(entity, "list") == [], entity
    assert ecom.json("stock-movements", "list", "-w", "reason=sale") == []


def test_order_lifecycle_allows_only_the_documented_moves(ecom: Ecom) -> None:
    order_id = place(ecom, "-c c1 -i shoe:2")
    refused = ecom("orders", "set-status", order_id, "shipped")
    assert refused.exit_code == errors.CONFLICT
    assert "is pending: cannot become shipped; it can move to paid or cancelled" in refused.stderr
    assert ecom("orders", "set-status", order_id, "lost").exit_code == errors.ERROR
    for status, stamp in (("paid", "approved_at"), ("shipped", "shipped_at")):
        ecom.ok("orders", "set-status", order_id, status)
        order = ecom.json("orders", "get", order_id)
        assert order["status"] == status and order[stamp] is not None
    assert ecom("orders", "set-status", order_id, "cancelled").exit_code == errors.CONFLICT
    ecom.ok("orders", "set-status", order_id, "delivered")
    assert ecom.json("orders", "get", order_id)["delivered_at"] is not None
    assert stock(ecom, "shoe") == 3
    ecom.ok("orders", "set-status", order_id, "returned")
    assert stock(ecom, "shoe") == 5
    final = ecom("orders", "set-status", order_id, "paid")
    assert final.exit_code == errors.CONFLICT and "that is final" in final.stderr
    assert ecom("orders", "set-status", "nope", "paid").exit_code == errors.NOT_FOUND


def test_cancelling_restocks_once(ecom: Ecom) -> None:
    order_id = place(ecom, "-c c1 -i shoe:4 -i sock:10 --payment-method wallet")
    assert (stock(ecom, "shoe"), stock(ecom, "sock")) == (1, 90)
    ecom.ok("orders", "set-status", order_id, "cancelled")
    assert (stock(ecom, "shoe"), stock(ecom, "sock")) == (5, 100)
    again = ecom("orders", "set-status", order_id, "cancelled")
    assert again.exit_code == errors.CONFLICT
    assert (stock(ecom, "shoe"), stock(ecom, "sock")) == (5, 100)
    moves = ecom.json(
        "stock-movements", "list", "-w", f"order_id={order_id}", "-w", "reason=cancel"
    )
    assert sorted(m["delta"] for m in moves) == [4, 10]


def test_cancel_is_compare_and_set() -> None:
    """The library call a concurrent cancel runs: the CAS loser restocks nothing."""
    with ecomcli.connect("sqlite:///:memory:") as store:
        store.init_schema()
        from test_contract import add

        add(store, "customers", customer_id="c1")
        add(store, "products", product_id="p", name="P", price="1", units_in_stock=3)
        from ecomcli import orders

        placed = orders.place_order(store, orders.OrderRequest("c1", [orders.Line("p", 3)]))
        real_update = store.update

        def racing_update(entity, key, changes, *, expect=None):  # type: ignore[no-untyped-def]
            if entity == "orders" and expect:  # another process cancels first
                real_update(entity, key, {"status": "cancelled"})
            return real_update(entity, key, changes, expect=expect)

        store.update = racing_update  # type: ignore[method-assign]
        with pytest.raises(errors.ConflictError, match="changed meanwhile"):
            orders.set_status(store, placed.order_id, "cancelled")
        assert store.require("products", ("p",))["units_in_stock"] == 0  # not restocked here


def test_cart_add_remove_show_and_checkout(ecom: Ecom) -> None:
    ecom.ok("carts", "add", "shoe", "--customer", "c1")
    ecom.ok("carts", "add", "shoe", "--customer", "c1", "--qty", "2")
    ecom.ok("carts", "add", "sock", "--customer", "c1", "--qty", "5")
    ecom.ok("carts", "add", "hat", "--customer", "c1")
    ecom.ok("carts", "remove", "hat", "--customer", "c1")
    ecom.ok("carts", "remove", "sock", "--customer", "c1", "--qty", "1")
    shown = ecom("carts", "show", "--customer", "c1", "--format", "json")
    lines = [(r["product_id"], r["quantity"], r["line_total"]) for r in _json(shown.stdout)]
    assert lines == [("shoe", 3, "59.97"), ("sock", 4, "0.40")]
    assert "total 60.37" in shown.stderr
    assert ecom("carts", "remove", "hat", "--customer", "c1").exit_code == errors.NOT_FOUND
    assert ecom("carts", "add", "boot", "--customer", "c1").exit_code == errors.NOT_FOUND
    assert ecom("carts", "add", "shoe", "--customer", "zed").exit_code == errors.NOT_FOUND

    order_id = ecom.ok("carts", "checkout", "--customer", "c1", "--payment-method", "debit_card")
    order = ecom.json("orders", "get", order_id.strip())
    (cart,) = ecom.json("carts", "list")  # type: ignore[misc]
    assert (order["cart_id"], order["status"], cart["status"]) == (
        cart["cart_id"],
        "paid",
        "checked_out",
    )
    assert (stock(ecom, "shoe"), stock(ecom, "sock")) == (2, 96)
    assert ecom.json("carts", "show", "--customer", "c1") == []
    assert ecom("carts", "checkout", "--customer", "c1").exit_code == errors.NOT_FOUND
    ecom.ok("carts", "add", "sock", "--customer", "c1")  # a new open cart
    assert len(ecom.json("carts", "list", "-w", "status=open")) == 1


def test_checkout_out_of_stock_leaves_the_cart_open(ecom: Ecom) -> None:
    ecom.ok("carts", "add", "shoe", "--customer", "c2", "--qty", "6")
    result = ecom("carts", "checkout", "--customer", "c2")
    assert result.exit_code == errors.OUT_OF_STOCK
    assert ecom.json("carts", "list", "-w", "status=open") != []
    assert ecom.json("orders", "list") == [] and stock(ecom, "shoe") == 5


def test_wishlists(ecom: Ecom) -> None:
    ecom.ok("wishlists", "add", "hat", "--customer", "c2")
    again = ecom("wishlists", "add", "hat", "--customer", "c2")
    assert again.exit_code == 0 and "already" in again.stderr
    ecom.ok("wishlists", "add", "shoe", "--customer", "c2")
    shown = ecom.json("wishlists", "show", "--customer", "c2")
    assert [(r["product_id"], r["price"]) for r in shown] == [("hat", "7.00"), ("shoe", "19.99")]
    ecom.ok("wishlists", "remove", "hat", "--customer", "c2")
    assert [r["product_id"] for r in ecom.json("wishlists", "show", "--customer", "c2")] == ["shoe"]
    assert ecom("wishlists", "remove", "hat", "--customer", "c2").exit_code == errors.NOT_FOUND
    assert ecom.json("wishlists", "show", "--customer", "c1") == []


def test_inventory_restock_adjust_and_history_explain_the_stock(ecom: Ecom) -> None:
    assert ecom.ok("inventory", "restock", "shoe", "10").strip() == "15"
    assert ecom.ok("inventory", "adjust", "shoe", "-3", "--reason", "water damage").strip() == "12"
    refused = ecom("inventory", "adjust", "shoe", "-13", "--reason", "count")
    assert refused.exit_code == errors.OUT_OF_STOCK and "below zero" in refused.stderr
    order_id = place(ecom, "-c c1 -i shoe:2")
    ecom.ok("orders", "set-status", order_id, "cancelled")
    with store_of(ecom) as store:  # stock changed behind ecom's back (an import, say)
        store.update("products", ("shoe",), {"units_in_stock": 20})
    history = ecom.json("inventory", "history", "shoe")
    assert [(h["reason"], h["delta"], h["balance"]) for h in history] == [
        ("unrecorded", 8, 8),
        ("initial", 5, 13),
        ("restock", 10, 23),
        ("adjust", -3, 20),
        ("sale", -2, 18),
        ("cancel", 2, 20),
    ]
    assert history[-1]["balance"] == stock(ecom, "shoe")
    ecom.ok("products", "update", "shoe", "--units-in-stock", "26")  # a count: recorded
    last = ecom.json("inventory", "history", "shoe")[-1]
    assert (last["reason"], last["delta"], last["balance"]) == ("adjust", 6, 26)
    assert history[3]["note"] == "water damage"
    assert ecom("inventory", "restock", "shoe", "0").exit_code == errors.USAGE
    assert ecom("inventory", "restock", "boot", "1").exit_code == errors.NOT_FOUND
    assert ecom("inventory", "history", "boot").exit_code == errors.NOT_FOUND


def test_set_and_check_password(ecom: Ecom) -> None:
    secret = "correct horse battery"
    ecom.ok("customers", "set-password", "c1", input=f"{secret}\n")
    good = ecom("customers", "check-password", "c1", input=f"{secret}\n")
    assert good.exit_code == 0
    bad = ecom("customers", "check-password", "c1", input="correct horse\n")
    assert bad.exit_code == errors.AUTH_FAILED
    assert "wrong password" in bad.stderr and "correct horse" not in bad.stderr
    login = ecom.json("logins", "get", "c1")
    assert login["email"] == "ada@example.com"
    assert login["password_hash"].startswith("scrypt$")
    assert secret not in login["password_hash"]
    ecom.ok("customers", "update", "c1", "--email", "ada@lovelace.org")  # the login follows
    assert ecom.json("logins", "get", "c1")["email"] == "ada@lovelace.org"
    assert ecom("customers", "update", "c1", "--email", "").exit_code == errors.CONFLICT
    ecom.ok("customers", "set-password", "c1", input="another password\n")
    assert ecom("customers", "check-password", "c1", input=f"{secret}\n").exit_code == 8

    no_email = ecom("customers", "set-password", "c2", input=f"{secret}\n")
    assert no_email.exit_code == errors.USAGE and "no email" in no_email.stderr
    short = ecom("customers", "set-password", "c1", input="abc\n")
    assert short.exit_code == errors.USAGE and "too short" in short.stderr
    nobody = ecom("customers", "check-password", "c2", input=f"{secret}\n")
    assert nobody.exit_code == errors.NOT_FOUND


def test_password_hashes_are_salted_and_self_describing() -> None:
    one, two = (accounts.hash_password("pw-123456", n=2**10) for _ in range(2))
    assert one != two  # a fresh salt each time
    scheme, n, r, p, _salt, _digest = one.split("$")
    assert (scheme, n, r, p) == ("scrypt", "1024", "8", "1")
    assert accounts.verify_password("pw-123456", one)
    assert accounts.verify_password("pw-123456", two)
    assert not accounts.verify_password("pw-1234567", one)
    with pytest.raises(errors.EcomError, match="scrypt"):
        accounts.verify_password("x", "md5$abc")


def test_stock_movements_add_up_to_the_stock(ecom: Ecom) -> None:
    place(ecom, "-c c1 -i sock:1")
    with store_of(ecom) as store:
        moves = list(store.find("stock_movements", Query([Filter("product_id", "=", "sock")])))
    assert sorted(m["reason"] for m in moves) == ["initial", "sale"]
    assert sum(m["delta"] for m in moves) == stock(ecom, "sock") == 99
    assert Decimal(ecom.json("products", "get", "sock")["price"]) == Decimal("0.10")


def _json(text: str) -> list[dict]:
    import json

    return json.loads(text)
