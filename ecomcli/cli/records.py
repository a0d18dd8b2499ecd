"""Record commands: one sub-app per entity (`ecom customers`, `ecom order-items`, ...)
generated from the schema, plus the store's operations (`ecom orders place`, `ecom carts`,
`ecom wishlists`, `ecom inventory`, `ecom customers set-password`).

The field options of `add` and `update` (`--email`, `--price`, ...) come from the schema:
each command is a function given an `inspect.Signature` whose parameters are
`Annotated[str | None, typer.Option("--field-name")]`, which is how Typer reads commands.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from ecomcli import accounts, orders, records, schema
from ecomcli.cli import browse
from ecomcli.cli.common import (
    TERMINAL_ROWS,
    App,
    DbOption,
    FormatOption,
    OutputFormat,
    default_format,
    info,
    open_store,
    render,
    render_one,
)
from ecomcli.errors import UsageError
from ecomcli.records import ListOptions, RecordInput, parse_key, show_key
from ecomcli.schema import Entity, Field

FIELD = "field__"  # prefix of the generated parameters that carry field options
KW = inspect.Parameter.KEYWORD_ONLY

# Options that exist only to refuse a secret with a clear message (not in --help).
REFUSED_OPTIONS: dict[str, tuple[str, ...]] = {
    "payment_cards": ("card_number", "number", "cvv", "cvc"),
    "logins": ("password",),
}
# Entities whose `add` is an operation rather than a plain insert.
OPERATION_ADD = {"carts", "wishlists"}
# Entities whose `get` shows more than the row (see EXTRAS).
OWN_GET = {"orders"}

Where = Annotated[
    list[str] | None,
    typer.Option(
        "--where",
        "-w",
        help="FIELD OP VALUE, OP one of = != < <= > >= ~ (contains) in (a,b,c); "
        "one quoted word or three words; repeat to combine, "
        "e.g. -w kind=clothes -w size in XXL,XXXL.",
    ),
]


Columns = Annotated[
    str | None,
    typer.Option("--columns", help="Only these fields: a,b,c (default: all)."),
]

# The OP and VALUE of `--where FIELD OP VALUE` written as three words.
WhereWords = Annotated[list[str] | None, typer.Argument(hidden=True, metavar="[OP VALUE]")]


def command_name(entity: Entity) -> str:
    return entity.name.replace("_", "-")


def option_name(name: str) -> str:
    return "--" + name.replace("_", "-")


def register(app: App) -> None:
    for entity in schema.ENTITIES:
        sub = App(name=command_name(entity), help=f"{entity.doc[:1].upper()}{entity.doc[1:]}.")
        if entity.name not in OPERATION_ADD:
            sub.command("add")(add_command(entity))
        if entity.name not in OWN_GET:
            sub.command("get")(get_command(entity))
        sub.command("list")(list_command(entity))
        sub.command("update")(update_command(entity))
        sub.command("delete")(delete_command(entity))
        EXTRAS.get(entity.name, lambda _app: None)(sub)
        app.add_typer(sub, name=command_name(entity))
    inventory = App(name="inventory", help="Stock: restock, adjust, and explain a product's stock.")
    inventory.command("restock")(inventory_restock)
    inventory.command("adjust", context_settings={"ignore_unknown_options": True})(inventory_adjust)
    inventory.command("history")(inventory_history)
    app.add_typer(inventory, name="inventory")


# --- generated CRUD commands -----------------------------------------------------------


def _describe(f: Field) -> str:
    parts = [f.doc] if f.doc else []
    if f.enum:
        parts.append("one of " + ", ".join(f.enum))
    elif f.type == "money":
        parts.append("money, e.g. 19.99")
    elif f.type in ("date", "datetime"):
        parts.append(f"{f.type}, ISO 8601")
    elif f.type != "key":
        parts.append(f.type)
    if f.ref:
        parts.append(f"a {f.ref} id")
    if f.required:
        parts.append("required")
    return "; ".join(parts)


def _param(name: str, annotation: Any, default: Any = None) -> inspect.Parameter:
    return inspect.Parameter(name, KW, default=default, annotation=annotation)


def _field_params(entity: Entity, *, with_key: bool) -> list[inspect.Parameter]:
    params = [
        _param(
            FIELD + f.name,
            Annotated[
                str | None,
                typer.Option(option_name(f.name), help=_describe(f), metavar=f.name.upper(),
                             rich_help_panel="Fields"),
            ],
        )
        for f in entity.fields
        if with_key or f.name not in entity.key
    ]
    params += [
        _param(FIELD + name, Annotated[str | None, typer.Option(option_name(name), hidden=True)])
        for name in REFUSED_OPTIONS.get(entity.name, ())
    ]
    return params


def _input_params() -> list[inspect.Parameter]:
    return [
        _param("json_text", Annotated[str | None, typer.Option("--json", help="A JSON object.")]),
        _param(
            "json_file",
            Annotated[
                Path | None, typer.Option("--json-file", help="A file holding a JSON object.")
            ],
        ),
        _param(
            "sets",
            Annotated[
                list[str] | None,
                typer.Option("--set", help="FIELD=VALUE (repeatable), like a field option."),
            ],
        ),
    ]


def _record_input(kw: dict[str, Any]) -> RecordInput:
    return RecordInput(
        options={k[len(FIELD) :]: v for k, v in kw.items() if k.startswith(FIELD)},
        sets=kw.get("sets") or (),
        json_text=kw.get("json_text"),
        json_file=kw.get("json_file"),
    )


def _with_signature(fn: Callable[..., None], params: list[inspect.Parameter], doc: str) -> Any:
    fn.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    fn.__doc__ = doc
    return fn


def _id_param(entity: Entity) -> inspect.Parameter:
    written = ":".join(k.upper() for k in entity.key)
    return inspect.Parameter(
        "record_id",
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        annotation=Annotated[str, typer.Argument(metavar="ID", help=f"The id: {written}.")],
    )


def add_command(entity: Entity) -> Any:
    def add(**kw: Any) -> None:
        raw = records.raw_record(entity, _record_input(kw))
        if entity.name == "payment_cards":
            accounts.check_card(raw)
        with open_store(kw["db"]) as store:
            row = records.add_record(store, entity.name, raw)
        key = show_key(entity.key_of(row))
        typer.echo(key)
        info(f"added {entity.name} {key!r}")

    params = [_param("db", DbOption), *_input_params(), *_field_params(entity, with_key=True)]
    doc = (
        f"Add one row to {entity.name} from field options, --set F=V or --json."
        + (
            ""
            if len(entity.key) > 1 or entity.field(entity.key[0]).ref
            else " A missing id is generated."
        )
        + " Prints its id."
    )
    return _with_signature(add, params, doc)


def update_command(entity: Entity) -> Any:
    def update(record_id: str, **kw: Any) -> None:
        key = parse_key(entity, record_id)
        raw = records.raw_record(entity, _record_input(kw))
        if entity.name == "payment_cards":
            accounts.check_card(raw)
        with open_store(kw["db"]) as store:
            records.update_record(store, entity.name, key, raw)
        info(f"updated {entity.name} {show_key(key)!r}: {', '.join(raw)}")

    params = [
        _id_param(entity),
        _param("db", DbOption),
        *_input_params(),
        *_field_params(entity, with_key=False),
    ]
    return _with_signature(
        update, params, f"Change only the given fields of one row of {entity.name}."
    )


def _secrets_param(entity: Entity) -> list[inspect.Parameter]:
    """`--show-secrets` for an entity holding secrets (password hashes), shown masked."""
    if entity.name not in accounts.SECRET_FIELDS:
        return []
    option = typer.Option(
        "--show-secrets", help="Show password hashes whole (masked by default)."
    )
    return [_param("show_secrets", Annotated[bool, option], False)]


def get_command(entity: Entity) -> Any:
    def get(
        record_id: str, db: str | None = None, fmt: OutputFormat | None = None,
        show_secrets: bool = False,
    ) -> None:
        with open_store(db) as store:
            row = records.get_record(store, entity.name, parse_key(entity, record_id))
        render_one(row if show_secrets else accounts.shown(entity.name, row), default_format(fmt))

    params = [
        _id_param(entity), _param("db", DbOption), _param("fmt", FormatOption),
        *_secrets_param(entity),
    ]
    return _with_signature(get, params, f"Show one row of {entity.name} (exit 3 if there is none).")


def list_command(entity: Entity) -> Any:
    def list_(
        where: list[str] | None = None,
        sort: str | None = None,
        desc: bool = False,
        limit: int | None = None,
        offset: int = 0,
        columns: str | None = None,
        db: str | None = None,
        fmt: OutputFormat | None = None,
        words: list[str] | None = None,
        show_secrets: bool = False,
    ) -> None:
        where = records.join_where_tokens(where or (), words or ())
        options = ListOptions(where, sort, desc, limit, offset)
        shown = records.pick_fields(entity, columns)
        with open_store(db) as store:
            rows = records.list_records(store, entity.name, options)
            if not show_secrets:
                rows = (accounts.shown(entity.name, row) for row in rows)
            cap = None if limit is not None else TERMINAL_ROWS
            more = "--limit N (and --offset) for more, --format csv for every row"
            render(rows, shown, default_format(fmt), cap=cap, more=more)

    params = [
        _param("where", Where),
        _param("sort", Annotated[str | None, typer.Option("--sort", help="Sort by this field.")]),
        _param("desc", Annotated[bool, typer.Option("--desc", help="Sort descending.")], False),
        _param("limit", Annotated[int | None, typer.Option("--limit", help="At most N rows.")]),
        _param("offset", Annotated[int, typer.Option("--offset", help="Skip N rows.")], 0),
        _param("columns", Columns),
        _param("db", DbOption),
        _param("fmt", FormatOption),
        _param("words", WhereWords),
        *_secrets_param(entity),
    ]
    return _with_signature(list_, params, f"List {entity.name}, filtered, sorted and paged.")


def delete_command(entity: Entity) -> Any:
    def delete(record_id: str, cascade: bool = False, db: str | None = None) -> None:
        key = parse_key(entity, record_id)
        with open_store(db) as store:
            refs = store.references_to(entity.name, key) if cascade else []
            records.delete_record(store, entity.name, key, cascade=cascade)
        also = f" and what referred to it ({', '.join(f'{n} {e}' for e, n in refs)})"
        info(f"deleted {entity.name} {show_key(key)!r}" + (also if refs else ""))

    params = [
        _id_param(entity),
        _param(
            "cascade",
            Annotated[
                bool,
                typer.Option(
                    "--cascade",
                    help="Also delete the rows that refer to this one (without it, a "
                    "referenced row is refused with exit 5).",
                ),
            ],
            False,
        ),
        _param("db", DbOption),
    ]
    return _with_signature(delete, params, f"Delete one row of {entity.name}.")


# --- products -------------------------------------------------------------------------


def products_distinct(
    field: Annotated[str, typer.Argument(help="The field, e.g. material.")],
    where: Where = None,
    db: DbOption = None,
    fmt: FormatOption = None,
    words: WhereWords = None,
) -> None:
    """Distinct values of a field, e.g. `distinct material --where kind=clothes`."""
    filters = records.join_where_tokens(where or (), words or ())
    with open_store(db) as store:
        values = records.distinct_values(store, "products", field, filters)
    render(({field: v} for v in values), [field], default_format(fmt))


# --- customers: logins ----------------------------------------------------------------

CustomerId = Annotated[str, typer.Argument(metavar="ID", help="The customer id.")]


def _read_password(prompt: str, *, confirm: bool) -> str:
    """Hidden prompt on a terminal; one line of stdin otherwise (for scripts)."""
    if sys.stdin.isatty():
        return typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm, err=True)
    line = sys.stdin.readline()
    if not line:
        raise UsageError("no password given on stdin")
    return line.rstrip("\r\n")


def customers_set_password(customer_id: CustomerId, db: DbOption = None) -> None:
    """Set a customer's password (asked twice, hidden; or one line of stdin). Stored only
    as a salted scrypt hash, with the customer's email as the login."""
    password = _read_password("New password", confirm=True)
    with open_store(db) as store:
        accounts.set_password(store, customer_id, password)
    info(f"password set for customer {customer_id!r}")


def customers_check_password(customer_id: CustomerId, db: DbOption = None) -> None:
    """Check a password (asked hidden, or one line of stdin): exit 0 if it matches,
    8 if not."""
    password = _read_password("Password", confirm=False)
    with open_store(db) as store:
        accounts.check_password(store, customer_id, password)
    info("password matches")


# --- orders ---------------------------------------------------------------------------

CustomerOption = Annotated[str, typer.Option("--customer", "-c", help="The customer id.")]
PaymentOption = Annotated[
    str | None,
    typer.Option(
        "--payment-method",
        help=f"Paid now by: {', '.join(schema.PAYMENT_METHODS)} (status paid; else pending).",
    ),
]
PartnerOption = Annotated[
    str | None, typer.Option("--delivery-partner", help="The delivery partner id.")
]


def orders_place(
    customer: CustomerOption,
    item: Annotated[
        list[str], typer.Option("--item", "-i", help="PRODUCT:QTY, repeat for more lines.")
    ],
    payment_method: PaymentOption = None,
    delivery_partner: PartnerOption = None,
    db: DbOption = None,
) -> None:
    """Place an order in one transaction: take stock for every line (exit 6 if a line
    lacks it; then nothing is written), record lines at current prices, the payment and the
    stock movements. Prints the order id."""
    request = orders.OrderRequest(
        customer, [orders.parse_line(i) for i in item], payment_method, delivery_partner
    )
    with open_store(db) as store:
        placed = orders.place_order(store, request)
    _report_order(placed)


def _report_order(placed: orders.PlacedOrder) -> None:
    typer.echo(placed.order_id)
    units = sum(line["quantity"] for line in placed.lines)
    info(
        f"order {placed.order_id}: {len(placed.lines)} line(s), {units} unit(s), "
        f"total {placed.total}, {placed.status}"
    )


def orders_set_status(
    order_id: Annotated[str, typer.Argument(metavar="ID", help="The order id.")],
    status: Annotated[str, typer.Argument(help=" | ".join(schema.ORDER_STATUSES))],
    db: DbOption = None,
) -> None:
    """Move an order along pending -> paid -> shipped -> delivered (or cancelled /
    returned, which put its units back in stock once). Other moves exit 5."""
    with open_store(db) as store:
        order = orders.set_status(store, order_id, status)
    info(f"order {order_id}: {order['status']}")


# --- carts and wishlists ----------------------------------------------------------------

ProductArg = Annotated[str, typer.Argument(metavar="PRODUCT", help="The product id.")]


def carts_add(
    product: ProductArg,
    customer: CustomerOption,
    qty: Annotated[int, typer.Option("--qty", "-n", help="Units to add.")] = 1,
    db: DbOption = None,
) -> None:
    """Put a product in the customer's open cart (created when there is none)."""
    with open_store(db) as store:
        line = orders.cart_add(store, customer, product, qty)
    info(f"cart {line['cart_id']}: {line['quantity']} x {product}")


def carts_remove(
    product: ProductArg,
    customer: CustomerOption,
    qty: Annotated[
        int | None, typer.Option("--qty", "-n", help="Units to remove (default: all).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Take a product (or some units of it) out of the customer's open cart."""
    with open_store(db) as store:
        left = orders.cart_remove(store, customer, product, qty)
    info(f"{left} x {product} left in the cart")


def carts_show(customer: CustomerOption, db: DbOption = None, fmt: FormatOption = None) -> None:
    """The customer's open cart: lines at current prices, and the total (on stderr)."""
    with open_store(db) as store:
        lines = orders.cart_lines(store, customer)
    columns = ["product_id", "name", "quantity", "unit_price", "line_total", "in_stock"]
    render(lines, columns, default_format(fmt))
    if lines:
        info(f"cart {lines[0]['cart_id']}: total {sum(r['line_total'] for r in lines)}")
    else:
        info(f"customer {customer!r} has an empty cart")


def carts_checkout(
    customer: CustomerOption,
    payment_method: PaymentOption = None,
    delivery_partner: PartnerOption = None,
    db: DbOption = None,
) -> None:
    """Place the open cart as an order (like `orders place`) and close the cart."""
    with open_store(db) as store:
        placed = orders.checkout(
            store, customer, payment_method=payment_method, delivery_partner_id=delivery_partner
        )
    _report_order(placed)


def wishlists_add(product: ProductArg, customer: CustomerOption, db: DbOption = None) -> None:
    """Put a product on the customer's wishlist (created when there is none)."""
    with open_store(db) as store:
        added = orders.wishlist_add(store, customer, product)
    info(f"{product} {'added to' if added else 'was already on'} the wishlist of {customer}")


def wishlists_remove(product: ProductArg, customer: CustomerOption, db: DbOption = None) -> None:
    """Take a product off the customer's wishlist."""
    with open_store(db) as store:
        orders.wishlist_remove(store, customer, product)
    info(f"{product} removed from the wishlist of {customer}")


def wishlists_show(customer: CustomerOption, db: DbOption = None, fmt: FormatOption = None) -> None:
    """The products on the customer's wishlist."""
    with open_store(db) as store:
        lines = orders.wishlist_lines(store, customer)
    render(lines, ["product_id", "name", "price", "in_stock", "added_at"], default_format(fmt))


# --- inventory ------------------------------------------------------------------------


def inventory_restock(
    product: ProductArg,
    qty: Annotated[int, typer.Argument(metavar="QTY", help="Units received.")],
    db: DbOption = None,
) -> None:
    """Add units received to a product's stock. Prints the new stock."""
    with open_store(db) as store:
        stock = orders.restock(store, product, qty)
    typer.echo(stock)


def inventory_adjust(
    product: ProductArg,
    delta: Annotated[int, typer.Argument(metavar="DELTA", help="Units in (+) or out (-).")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why (kept in the history).")],
    db: DbOption = None,
) -> None:
    """Correct a product's stock by DELTA (never below zero: exit 6). Prints the new stock."""
    with open_store(db) as store:
        stock = orders.adjust(store, product, delta, reason)
    typer.echo(stock)


def inventory_history(product: ProductArg, db: DbOption = None, fmt: FormatOption = None) -> None:
    """A product's stock movements with the running balance, ending at its current stock."""
    with open_store(db) as store:
        rows = orders.stock_history(store, product)
    columns = ["created_at", "reason", "delta", "balance", "order_id", "note"]
    render(rows, columns, default_format(fmt))


EXTRAS: dict[str, Callable[[App], None]] = {
    "products": lambda a: a.command("distinct")(products_distinct),
    "customers": lambda a: (
        a.command("orders")(browse.customers_orders),
        a.command("set-password")(customers_set_password),
        a.command("check-password")(customers_check_password),
    ),
    "orders": lambda a: (
        a.command("get")(browse.orders_get),
        a.command("place")(orders_place),
        a.command("set-status")(orders_set_status),
    ),
    "carts": lambda a: (
        a.command("add")(carts_add),
        a.command("remove")(carts_remove),
        a.command("show")(carts_show),
        a.command("checkout")(carts_checkout),
    ),
    "wishlists": lambda a: (
        a.command("add")(wishlists_add),
        a.command("remove")(wishlists_remove),
        a.command("show")(wishlists_show),
    ),
}
