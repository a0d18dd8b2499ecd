"""Password hashes stay off the screen; `--set` and mapping templates read as documented."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ecomcli.cli import app
from ecomcli.errors import UsageError
from ecomcli.mapping import load

runner = CliRunner()


def ecom(db_url: str, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), input=input, env={"ECOM_DB": db_url})


@pytest.fixture
def with_login(db_url: str) -> str:
    added = ecom(db_url, "customers", "add", "--customer-id", "c1", "--email", "a@x.io")
    assert added.exit_code == 0, added.stderr
    done = ecom(db_url, "customers", "set-password", "c1", input="correct horse\n")
    assert done.exit_code == 0, done.stderr
    return db_url


def stored_hash(db_url: str) -> str:
    exported = ecom(db_url, "export", "logins")
    assert exported.exit_code == 0, exported.stderr
    (row,) = csv.DictReader(io.StringIO(exported.stdout))
    return row["password_hash"]


def test_logins_list_and_get_mask_the_hash_unless_asked(with_login: str) -> None:
    whole = stored_hash(with_login)  # export keeps it: a lossless backup
    algorithm, n, r, p, salt, digest = whole.split("$")
    assert algorithm == "scrypt" and salt and digest
    masked = f"scrypt${n}${r}${p}$***"

    listed = ecom(with_login, "logins", "list", "--format", "json")
    assert listed.exit_code == 0, listed.stderr
    assert [row["password_hash"] for row in json.loads(listed.stdout)] == [masked]
    for output in (listed.stdout, ecom(with_login, "logins", "list").stdout):
        assert salt not in output and digest not in output

    shown = ecom(with_login, "logins", "list", "--show-secrets", "--format", "json")
    assert [row["password_hash"] for row in json.loads(shown.stdout)] == [whole]
    one = ecom(with_login, "logins", "get", "c1", "--format", "json")
    assert json.loads(one.stdout)["password_hash"] == masked
    table = ecom(with_login, "logins", "get", "c1")
    assert salt not in table.stdout and digest not in table.stdout
    one = ecom(with_login, "logins", "get", "c1", "--format", "json", "--show-secrets")
    assert json.loads(one.stdout)["password_hash"] == whole


def test_set_trims_around_the_equals_sign_as_where_does(db_url: str) -> None:
    added = ecom(db_url, "customers", "add", "--customer-id", "c1", "--set", "first_name = Ada ")
    assert added.exit_code == 0, added.stderr
    assert ecom(db_url, "customers", "update", "c1", "--set", " last_name =  Byron").exit_code == 0
    got = json.loads(ecom(db_url, "customers", "get", "c1", "--format", "json").stdout)
    assert (got["first_name"], got["last_name"]) == ("Ada", "Byron")
    found = ecom(db_url, "customers", "list", "--where", "first_name = Ada", "--format", "json")
    assert [row["customer_id"] for row in json.loads(found.stdout)] == ["c1"]


@pytest.mark.parametrize(
    "template", ["{id!r:>{id}}", "{id!r}", "{id:>8}", "spend-{}", "{id", "x}"]
)
def test_a_template_is_column_names_and_text_only(tmp_path: Path, template: str) -> None:
    path = tmp_path / "m.toml"
    path.write_text(f"[orders]\norder_id = {{ template = {json.dumps(template)} }}\n")
    with pytest.raises(UsageError) as refused:
        load(path)
    assert str(refused.value).startswith(f"{path}: ")
    assert f"order_id: template {template!r}" in str(refused.value)
