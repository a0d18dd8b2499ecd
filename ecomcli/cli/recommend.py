"""`ecom recommend` and `ecom similar`: personalised lists from the purchase history."""

from __future__ import annotations

from dataclasses import astuple
from typing import Annotated

import typer

from ecomcli.cli.common import (
    App,
    DbOption,
    FormatOption,
    default_format,
    open_store,
    render_records,
)
from ecomcli.errors import UsageError
from ecomcli.recommend import COLUMNS, STRATEGIES
from ecomcli.recommend import recommend as recommend_for
from ecomcli.recommend import similar as similar_to


def register(app: App) -> None:
    app.command("recommend")(recommend)
    app.command("similar")(similar)


LimitOption = Annotated[int, typer.Option("--limit", help="At most N products.")]


def recommend(
    customer: Annotated[
        str | None, typer.Option("--customer", help="The customer to recommend to.")
    ] = None,
    limit: LimitOption = 10,
    strategy: Annotated[
        str, typer.Option("--strategy", help=f"{'|'.join(STRATEGIES)} (see --evaluate).")
    ] = "auto",
    exclude_bought: Annotated[
        bool, typer.Option("--exclude-bought", help="Leave out what the customer bought.")
    ] = False,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Rebuild the stored neighbour tables first "
                           "(with --strategy als, fit the factors again too).")
    ] = False,
    evaluate: Annotated[
        bool,
        typer.Option("--evaluate", help="Score every strategy on the store's own history "
                     "(leave-last-order-out): HR@k, NDCG@k, coverage, seconds."),
    ] = False,
    k: Annotated[int, typer.Option("--k", help="--evaluate: the list length scored.")] = 10,
    fmt: FormatOption = None,
    db: DbOption = None,
) -> None:
    """Products to show a customer next, or (--evaluate) how each strategy would have done."""
    if evaluate:
        from ecomcli.recommend.evaluate import COLUMNS as SCORED
        from ecomcli.recommend.evaluate import evaluate as run

        with open_store(db) as store:
            scores = run(store, k)
        rows = [tuple(round(v, 4) if isinstance(v, float) else v for v in astuple(s))
                for s in scores]
        render_records(rows, SCORED, default_format(fmt), title=f"leave-last-order-out, k={k}")
        return
    if customer is None:
        raise UsageError("name a customer: --customer ID (or --evaluate)")
    with open_store(db) as store:
        result = recommend_for(store, customer, limit, strategy=strategy,
                               exclude_bought=exclude_bought, refresh=refresh)
    render_records(result.rows, COLUMNS, default_format(fmt))


def similar(
    product: Annotated[str, typer.Option("--product", help="The product.")],
    limit: LimitOption = 10,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Rebuild the stored neighbour tables first.")
    ] = False,
    fmt: FormatOption = None,
    db: DbOption = None,
) -> None:
    """Products customers buy together with PRODUCT (the product page's list)."""
    with open_store(db) as store:
        result = similar_to(store, product, limit, refresh=refresh)
    render_records(result.rows, COLUMNS, default_format(fmt))
