"""Product images and search by photo: adding, re-adding, bad files, ranking on edited
photos and the evaluation protocol, on every backend; the CLI's exit codes and JSON."""

from __future__ import annotations

import hashlib
import io
import json
import random
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

import ecomcli
from ecomcli.cli import app
from ecomcli.errors import NOT_FOUND, REJECTED_ROWS
from ecomcli.images import catalogue, search
from ecomcli.images.descriptors import describe, pack, unpack
from ecomcli.images.drawing import draw
from ecomcli.images.evaluate import EDITS, Case, evaluate, on_white, queries
from ecomcli.images.search import Index, Stored
from ecomcli.repository import Repository

runner = CliRunner()
PRODUCTS = [f"P{i}" for i in range(1, 9)]


def ecom(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


@pytest.fixture
def pictures(tmp_path: Path) -> Path:
    """A folder with one drawn picture per product, named after it."""
    folder = tmp_path / "pictures"
    folder.mkdir()
    for p in PRODUCTS:
        draw(p, f"product {p}").save(folder / f"{p}.png")
    return folder


@pytest.fixture(name="shop")
def shop_fixture(store: Repository) -> Repository:
    return shop(store)


def shop(store: Repository) -> Repository:
    """`store` with the products `PRODUCTS`."""
    for p in PRODUCTS:
        store.insert("products", {"product_id": p, "name": f"product {p}", "kind": "general",
                                  "price": Decimal("9.99"), "units_in_stock": 1,
                                  "reorder_level": 0})
    return store


def photo(im: Image.Image, fmt: str = "JPEG") -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, quality=80) if fmt == "JPEG" else im.save(buf, fmt)
    return buf.getvalue()


def test_an_added_image_is_stored_with_its_hash_size_and_source(
    shop: Repository, pictures: Path
) -> None:
    file = pictures / "P1.png"
    result = catalogue.add_files(shop, "P1", [file])
    assert (result.added, result.unchanged, result.rejected) == (1, 0, [])
    (row,) = catalogue.listing(shop, "P1")
    assert row["sha256"] == hashlib.sha256(file.read_bytes()).hexdigest()
    assert row["file_bytes"] == file.stat().st_size
    assert (row["width"], row["height"]) == Image.open(file).size
    assert row["source"] == str(file)
    stored = shop.get("product_images", ("P1", row["sha256"]))
    assert stored is not None and isinstance(stored["descriptors"], bytes)


def test_adding_or_importing_the_same_files_again_adds_nothing(
    shop: Repository, pictures: Path
) -> None:
    first = catalogue.import_path(shop, pictures)
    assert (first.added, first.unchanged) == (len(PRODUCTS), 0)
    again = catalogue.import_path(shop, pictures)
    assert (again.added, again.unchanged) == (0, len(PRODUCTS))
    copy = pictures / "P1_copy.png"  # same content under another name: same image
    copy.write_bytes((pictures / "P1.png").read_bytes())
    assert catalogue.add_files(shop, "P1", [copy]).unchanged == 1
    assert shop.count("product_images") == len(PRODUCTS)


def test_a_csv_maps_products_to_files(shop: Repository, pictures: Path) -> None:
    mapping = pictures / "map.csv"
    mapping.write_text("product_id,file\nP2,P1.png\nP3,P3.png\n")
    result = catalogue.import_path(shop, mapping)
    assert result.added == 2
    assert {r["product_id"] for r in catalogue.listing(shop)} == {"P2", "P3"}


def test_bad_files_are_rejected_rows_naming_file_and_reason(
    shop: Repository, pictures: Path
) -> None:
    text = pictures / "P2.png"
    text.write_text("not a picture")
    cut = pictures / "P3.png"
    cut.write_bytes(cut.read_bytes()[:300])  # a PNG cut short
    result = catalogue.add_files(shop, "P1", [pictures / "P1.png", text, cut, pictures / "no.jpg"])
    assert result.added == 1
    reasons = dict(result.rejected)
    assert set(reasons) == {str(text), str(cut), str(pictures / "no.jpg")}
    assert "not an image" in reasons[str(text)]
    assert "damaged" in reasons[str(cut)] or "not an image" in reasons[str(cut)]
    assert "cannot read" in reasons[str(pictures / "no.jpg")]
    assert shop.count("product_images") == 1


def test_search_ranks_the_pictured_product_first_on_edited_photos(
    shop: Repository, pictures: Path
) -> None:
    catalogue.import_path(shop, pictures)
    rng = random.Random(5)
    for p in PRODUCTS:
        original = draw(p, f"product {p}")
        edits = {
            "mirror": original.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
            "rotate 90": original.transpose(Image.Transpose.ROTATE_90),
            "crop 80%": original.crop((32, 32, 288, 288)),
            "white canvas": on_white(original, rng),
        }
        for name, edited in edits.items():
            found = shop.search_image(photo(edited), limit=3)
            assert found["product_id"].iloc[0] == p, (p, name, found)
    found = shop.search_image(pictures / "P4.png", limit=3)  # a path works as well as bytes
    assert list(found.columns) == ["rank", "product_id", "name", "score", "image"]
    assert found["product_id"].iloc[0] == "P4"
    assert found["name"].iloc[0] == "product P4"
    assert list(found["rank"]) == [1, 2, 3]
    assert found["score"].is_monotonic_decreasing


def test_images_described_before_previews_were_stored_are_found_alike(
    shop: Repository, pictures: Path
) -> None:
    catalogue.import_path(shop, pictures)
    query = photo(draw("P3", "product P3").transpose(Image.Transpose.ROTATE_90))
    with_previews = shop.search_image(query, limit=8)
    for row in catalogue.listing(shop):  # as `ecom images add` wrote them before
        shop.update("product_images", (row["product_id"], row["sha256"]), {"preview": None})
    older = shop.search_image(query, limit=8)
    assert older.equals(with_previews)
    assert older["product_id"].iloc[0] == "P3"


def test_a_search_reads_the_full_descriptors_of_its_candidates_only(
    shop: Repository, pictures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalogue.import_path(shop, pictures)
    query = photo(draw("P5", "product P5"))
    ranked = shop.search_image(query, limit=8)
    last = ranked["product_id"].iloc[-1]
    (row,) = catalogue.listing(shop, last)
    # the least alike image's full descriptors unreadable: only its preview may be read
    shop.update("product_images", (last, row["sha256"]), {"descriptors": b"damaged"})
    monkeypatch.setattr(search, "CANDIDATES", 3)
    found = shop.search_image(query, limit=3)
    assert found.head(1).equals(ranked.head(1))
    assert last not in set(found["product_id"])


def test_remove_deletes_a_products_images(shop: Repository, pictures: Path) -> None:
    catalogue.import_path(shop, pictures)
    catalogue.add_files(shop, "P1", [pictures / "P2.png"])
    sha = hashlib.sha256((pictures / "P2.png").read_bytes()).hexdigest()
    assert catalogue.remove(shop, "P1", sha[:10]) == 1
    assert [r["sha256"] for r in catalogue.listing(shop, "P1")] != [sha]
    assert catalogue.remove(shop, "P1") == 1
    assert catalogue.listing(shop, "P1") == []
    assert shop.search_image(pictures / "P1.png")["product_id"].iloc[0] != "P1"


def test_descriptors_survive_packing() -> None:
    d = describe(draw("P1"))
    back = unpack(pack(d))
    assert back.colour.tobytes() == d.colour.astype("<f4").tobytes()
    assert abs(back.thumbs - d.thumbs).max() < 1e-3


def test_the_evaluation_protocol_is_seeded_and_counts_every_edit() -> None:
    cases = [Case(p, draw(p)) for p in PRODUCTS[:5]]
    a, b = queries(cases, seed=3), queries(cases, seed=3)
    assert [(e, p, im.tobytes()) for e, p, im in a] == [(e, p, im.tobytes()) for e, p, im in b]
    other = queries(cases, seed=4)
    assert any(x[2].tobytes() != y[2].tobytes() for x, y in zip(a, other, strict=True))
    index = Index(Stored(c.product_id, "", pack(describe(c.image))) for c in cases)
    table, ms = evaluate(index, cases, seed=3)
    assert list(table["edit"]) == [*EDITS, "overall"]
    assert list(table["queries"]) == [len(cases)] * len(EDITS) + [len(cases) * len(EDITS)]
    per_edit = table[table["edit"] != "overall"]
    overall = table[table["edit"] == "overall"].iloc[0]
    assert overall["recall@1"] == pytest.approx(per_edit["recall@1"].mean())
    assert (table["recall@5"] >= table["recall@1"]).all()
    # mirrors and quarter turns are matched exactly (the query's symmetries)
    for edit in ("mirror", "rotate 90"):
        assert per_edit.set_index("edit").loc[edit, "recall@1"] == 1.0
    assert ms > 0


def test_cli_import_list_search_and_exit_codes(db_url: str, shop: Repository,
                                               pictures: Path) -> None:
    (pictures / "P5-notes.png").write_text("a note, not a picture")
    result = ecom("images", "import", str(pictures), "--db", db_url, "--format", "json")
    assert result.exit_code == REJECTED_ROWS, result.stderr
    data = json.loads(result.stdout)
    assert data["added"] == len(PRODUCTS)
    assert [r["file"] for r in data["rejected"]] == [str(pictures / "P5-notes.png")]
    assert "P5-notes.png" in result.stderr and "Traceback" not in result.stderr
    (pictures / "P5-notes.png").unlink()
    again = ecom("images", "import", str(pictures), "--db", db_url)
    assert again.exit_code == 0, again.stderr
    assert f"0 image(s) added, {len(PRODUCTS)} already stored" in again.stderr
    listed = ecom("images", "list", "P2", "--db", db_url, "--format", "json")
    assert [r["product_id"] for r in json.loads(listed.stdout)] == ["P2"]
    query = pictures.parent / "query.jpg"
    draw("P6", "product P6").transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(query)
    found = ecom("search-image", str(query), "--limit", "2", "--db", db_url, "--format", "json")
    assert found.exit_code == 0, found.stderr
    ranked = json.loads(found.stdout)
    assert [r["rank"] for r in ranked] == [1, 2]
    assert ranked[0]["product_id"] == "P6"
    missing = ecom("images", "add", "NOPE", str(query), "--db", db_url)
    assert missing.exit_code == NOT_FOUND
    bad = pictures.parent / "bad.jpg"
    bad.write_text("nope")
    failed = ecom("search-image", str(bad), "--db", db_url)
    assert failed.exit_code == 1
    assert "bad.jpg: not an image" in failed.stderr and "Traceback" not in failed.stderr


def test_cli_evaluate_prints_recall_per_edit(pictures: Path) -> None:
    result = ecom("search-image", "--evaluate", str(pictures), "--format", "json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["edit"] for r in rows] == [*EDITS, "overall"]
    assert all(0 <= r["recall@1"] <= r["recall@5"] <= 1 for r in rows)
    assert "ms per query" in result.stderr


def init_db_after(tmp_path: Path, older: str) -> tuple[str, str]:
    """(URL, what `init-db` says) of a SQLite store changed by `older` (SQL making it as an
    earlier ecom left it), then upgraded by `ecom init-db`."""
    import sqlite3

    url = f"sqlite:///{tmp_path / 'old.db'}"
    assert ecom("init-db", "--db", url).exit_code == 0
    with sqlite3.connect(tmp_path / "old.db") as conn:
        conn.execute(older)
    result = ecom("init-db", "--db", url)
    assert result.exit_code == 0, result.stderr
    return url, result.stderr


def test_init_db_adds_the_images_table_to_an_older_store(tmp_path: Path) -> None:
    url, said = init_db_after(tmp_path, "DROP TABLE product_images")
    assert "product_images" in said
    listed = ecom("images", "list", "--db", url, "--format", "json")
    assert listed.exit_code == 0 and json.loads(listed.stdout) == []


def test_demo_ends_with_a_search_by_photo(tmp_path: Path) -> None:
    result = ecom("demo", "--db", f"sqlite:///{tmp_path / 'demo.db'}", "--format", "json")
    assert result.exit_code == 0, result.output
    assert "Search by photo" in result.stderr
    found = json.loads(result.stdout.rsplit("\n[", 1)[1].join(["[", ""]))
    assert found[0]["product_id"] == "P000001"


def test_init_db_adds_the_preview_column_to_an_older_images_table(
    tmp_path: Path, pictures: Path
) -> None:
    url, said = init_db_after(tmp_path, "ALTER TABLE product_images DROP COLUMN preview")
    assert "product_images.preview" in said
    with ecomcli.connect(url) as store:
        shop(store)
    assert ecom("images", "import", str(pictures), "--db", url).exit_code == 0
    found = ecom("search-image", str(pictures / "P6.png"), "--db", url, "--format", "json")
    assert found.exit_code == 0, found.stderr
    assert json.loads(found.stdout)[0]["product_id"] == "P6"
