"""`ecom images add/import/list/remove` and `ecom search-image`: thin commands over
`ecomcli.images`."""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ecomcli.cli.common import (
    App,
    DbOption,
    FormatOption,
    OutputFormat,
    default_format,
    info,
    open_store,
    render,
    stderr,
)
from ecomcli.errors import REJECTED_ROWS, UsageError
from ecomcli.repository import Query, Repository

if TYPE_CHECKING:  # numpy, PIL, scipy, pandas load when an image command runs (start-up)
    from ecomcli.images import catalogue
    from ecomcli.images.evaluate import Case

Files = Annotated[list[Path], typer.Argument(help="Image files (JPEG, PNG, WebP).")]


def register(app: App) -> None:
    images = App(name="images", help="Product images, for search by photo (search-image).")
    images.command("add")(add_command)
    images.command("import")(import_command)
    images.command("list")(list_command)
    images.command("remove")(remove_command)
    app.add_typer(images, name="images")
    app.command("search-image")(search_command)


def _report(result: catalogue.AddResult, fmt: OutputFormat | None) -> None:
    """The outcome on stderr (JSON on stdout with --format json); exit 4 on a rejected file,
    as `ecom import` does on a rejected row."""
    if fmt is OutputFormat.json:
        typer.echo(json.dumps(result.as_dict(), indent=2))
    for file, reason in result.rejected:
        stderr.print(f"rejected {file}: {reason}", markup=False, highlight=False)
    info(
        f"{result.added} image(s) added, {result.unchanged} already stored, "
        f"{len(result.rejected)} rejected"
    )
    if result.rejected:
        raise typer.Exit(REJECTED_ROWS)


def add_command(
    product: Annotated[str, typer.Argument(help="The product's id.")],
    files: Files,
    db: DbOption = None,
    fmt: FormatOption = None,
) -> None:
    """Add images of a product (adding the same file again adds nothing)."""
    from ecomcli.images import catalogue

    with open_store(db) as store:
        result = catalogue.add_files(store, product, files)
    _report(result, fmt)


def import_command(
    source: Annotated[
        Path,
        typer.Argument(
            help="A folder of images named after their products (P1.jpg, P1_2.png, "
            "P1-back.webp), or a CSV file with columns product_id,file."
        ),
    ],
    db: DbOption = None,
    fmt: FormatOption = None,
) -> None:
    """Import product images from a folder or a CSV mapping (re-runs add nothing new)."""
    from ecomcli.images import catalogue

    with open_store(db) as store:
        result = catalogue.import_path(store, source)
    _report(result, fmt)


def list_command(
    product: Annotated[str | None, typer.Argument(help="Only this product's images.")] = None,
    db: DbOption = None,
    fmt: FormatOption = None,
) -> None:
    """List stored images (without their descriptors)."""
    from ecomcli.images import catalogue

    with open_store(db) as store:
        rows = catalogue.listing(store, product)
    render(rows, catalogue.LISTED, default_format(fmt))


def remove_command(
    product: Annotated[str, typer.Argument(help="The product's id.")],
    sha256: Annotated[
        str | None, typer.Argument(help="Only this image (its SHA-256, or a prefix).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Remove a product's images (all of them, or one)."""
    from ecomcli.images import catalogue

    with open_store(db) as store:
        removed = catalogue.remove(store, product, sha256)
    info(f"{removed} image(s) removed")


def search_command(
    query: Annotated[
        Path | None, typer.Argument(help="A photo of the product to find.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Products to show.")] = 5,
    evaluate_dir: Annotated[
        Path | None,
        typer.Option(
            "--evaluate",
            help="Measure recall instead: edited copies of each image in this folder "
            "(its own product) are the queries.",
        ),
    ] = None,
    distractors: Annotated[
        Path | None,
        typer.Option(help="With --evaluate: more images to search among, never queried."),
    ] = None,
    seed: Annotated[int, typer.Option(help="With --evaluate: the edits' seed.")] = 0,
    db: DbOption = None,
    fmt: FormatOption = None,
) -> None:
    """Find the products that look like a photo (offline, no model to download)."""
    from ecomcli.images import catalogue

    fmt = default_format(fmt)
    if evaluate_dir is not None:
        _evaluate(evaluate_dir, distractors, seed, fmt)
        return
    if query is None:
        raise UsageError("give a photo to search for, or --evaluate DIR")
    with open_store(db) as store:
        found = catalogue.search(store, query, limit)
    render(found.to_dict("records"), list(found.columns), fmt)


def _folder_cases(folder: Path) -> list[Case]:
    from ecomcli.images import catalogue
    from ecomcli.images.evaluate import Case
    from ecomcli.images.reading import ImageError, load

    if not folder.is_dir():
        raise UsageError(f"{folder}: not a folder")
    cases = []
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in catalogue.SUFFIXES):
        try:
            cases.append(Case(path.stem, load(path).image))
        except ImageError as e:
            stderr.print(f"skipped {e}", markup=False, highlight=False)
    if not cases:
        raise UsageError(f"{folder}: no images (JPEG, PNG, WebP)")
    return cases


def _evaluate(folder: Path, distractors: Path | None, seed: int, fmt: OutputFormat) -> None:
    from ecomcli.images.descriptors import describe, pack
    from ecomcli.images.evaluate import evaluate
    from ecomcli.images.search import Index, Stored

    cases = _folder_cases(folder)
    others = _folder_cases(distractors) if distractors else []
    index = Index(
        Stored(f"{'~' if i >= len(cases) else ''}{c.product_id}", "", pack(describe(c.image)))
        for i, c in enumerate([*cases, *others])
    )
    table, ms = evaluate(index, cases, seed)
    info(f"{len(cases)} images, {len(others)} distractors; {ms:.1f} ms per query")
    render(table.round(3).to_dict("records"), list(table.columns), fmt)


def tour(store: Repository, section: Callable[[str], None], fmt: OutputFormat) -> None:
    """`ecom demo`'s search by photo: pictures drawn for a dozen products, imported, then
    a mirrored, cropped JPEG of the first one searched for."""
    from PIL import Image

    from ecomcli.images import catalogue
    from ecomcli.images.drawing import draw_catalogue

    products = [(r["product_id"], r["name"]) for r in store.find("products", Query(limit=12))]
    if not products:
        return
    with tempfile.TemporaryDirectory(prefix="ecom-demo-images-") as tmp:
        folder = draw_catalogue(Path(tmp), products)
        catalogue.import_path(store, folder)
        first = products[0][0]
        photo = Image.open(folder / f"{first}.png").transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        buf = io.BytesIO()
        photo.crop((24, 24, 296, 296)).save(buf, "JPEG", quality=40)
        found = catalogue.search(store, buf.getvalue(), 3)
    section(f"Search by photo: ecom search-image (a mirrored, cropped photo of {first})")
    render(found.to_dict("records"), list(found.columns), fmt)
