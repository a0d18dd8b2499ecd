"""Where the store lives: --db URLs, ECOM_DB, defaults, and never showing a password."""

from __future__ import annotations

import pytest

from ecomcli.config import mask_secret, parse_url
from ecomcli.errors import UsageError


def test_default_is_an_sqlite_file_in_the_working_directory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ECOM_DB", raising=False)
    url = parse_url(None)
    assert (url.backend, url.database) == ("sqlite", "ecom.db")


def test_env_var_then_argument_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECOM_DB", "sqlite:///from-env.db")
    assert parse_url(None).database == "from-env.db"
    assert parse_url("sqlite:///arg.db").database == "arg.db"


def test_sqlite_relative_and_absolute_paths() -> None:
    assert parse_url("sqlite:///shop.db").database == "shop.db"
    assert parse_url("sqlite:////var/data/shop.db").database == "/var/data/shop.db"


def test_server_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ECOM_DB_PASSWORD", raising=False)
    my = parse_url("mysql://shop:s%40cret@db.example:3307/store")
    assert (my.backend, my.host, my.port, my.user, my.password, my.database) == (
        "mysql", "db.example", 3307, "shop", "s@cret", "store"
    )
    mongo = parse_url("mongodb://127.0.0.1/store")
    assert (mongo.backend, mongo.port, mongo.user, mongo.password) == ("mongodb", None, None, None)
    srv = parse_url("mongodb+srv://u:p@cluster0.example.net/store?retryWrites=true")
    assert (srv.backend, srv.database, srv.options) == ("mongodb", "store", {"retryWrites": "true"})


def test_password_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECOM_DB_PASSWORD", "hunter2")
    url = parse_url("mysql://shop@localhost/store")
    assert url.password == "hunter2"
    assert "hunter2" not in url.masked
    assert url.masked == "mysql://shop:***@localhost/store"
    assert "hunter2" not in repr(url)


def test_masked_url_never_shows_the_password() -> None:
    url = parse_url("mysql://shop:hunter2@127.0.0.1:3306/store")
    assert url.masked == "mysql://shop:***@127.0.0.1:3306/store"
    assert str(url) == url.masked
    assert mask_secret("cannot connect to mysql://shop:hunter2@h/db: refused") == (
        "cannot connect to mysql://shop:***@h/db: refused"
    )
    assert mask_secret("mongodb://h:27017/db and sqlite:///x.db") == (
        "mongodb://h:27017/db and sqlite:///x.db"
    )


@pytest.mark.parametrize(
    "bad", ["postgres://u:hunter2@h/db", "shop.db", "mysql://u@h:99999/db", "mysql://u@h/"]
)
def test_bad_urls_are_one_line_usage_errors(bad: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_url(bad)
    message = str(caught.value)
    assert "\n" not in message
    assert "hunter2" not in message


def test_unknown_scheme_lists_the_supported_ones() -> None:
    with pytest.raises(UsageError, match=r"sqlite:///FILE, mysql://.*mongodb://.*mongodb\+srv"):
        parse_url("postgres://h/db")
