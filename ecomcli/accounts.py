"""Logins and payment cards: what ecom keeps about a customer's secrets (almost nothing).

A password is stored as a salted, deliberately slow scrypt hash in a self-describing
form, `scrypt$N$r$p$SALT$HASH` (salt and hash in base64), so the cost can be raised later
without breaking stored hashes; checking uses a constant-time comparison. A payment
card keeps its brand, last four digits and expiry only: never a number or a CVV.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from collections.abc import Mapping
from typing import Any

from ecomcli import schema
from ecomcli.errors import AUTH_FAILED, EcomError, NotFoundError, UsageError
from ecomcli.records import now
from ecomcli.repository import Repository
from ecomcli.validation import forbidden_fields, validate

# scrypt cost: OWASP's recommended minimum (N=2^17, r=8, p=1: 128 MiB of memory). It is
# stored with each hash, so it can be raised later without invalidating old hashes.
SCRYPT_N = 2**17
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
HASH_BYTES = 32
MIN_PASSWORD = 8


class AuthFailed(EcomError):
    exit_code = AUTH_FAILED


def masked_hash(stored: str | None) -> str | None:
    """A stored hash as shown on screen: its algorithm and cost (`scrypt$N$r$p$***`),
    not its salt and digest, which would let anyone who sees them guess offline."""
    if stored is None:
        return None
    parts = stored.split("$")
    return "$".join([*parts[:4], "***"]) if len(parts) == 6 else "***"


# fields shown masked unless asked for (`--show-secrets`); `export` keeps them whole
SECRET_FIELDS: dict[str, dict[str, Any]] = {"logins": {"password_hash": masked_hash}}


def shown(entity: str, row: dict[str, Any]) -> dict[str, Any]:
    """`row` with its secret fields masked."""
    masks = SECRET_FIELDS.get(entity)
    if not masks:
        return row
    return {k: masks[k](v) if k in masks else v for k, v in row.items()}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, size: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r + 2**20, dklen=size
    )


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """`scrypt$N$r$p$SALT$HASH` for `password`, with a fresh random salt."""
    salt = os.urandom(SALT_BYTES)
    digest = _scrypt(password, salt, n, r, p, HASH_BYTES)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches a hash made by `hash_password` (constant-time compare)."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise EcomError("the stored password hash is not in scrypt$N$r$p$salt$hash form")
    try:
        n, r, p = (int(x) for x in parts[1:4])
        salt, expected = base64.b64decode(parts[4]), base64.b64decode(parts[5])
    except ValueError:
        raise EcomError("the stored password hash is damaged") from None
    return hmac.compare_digest(_scrypt(password, salt, n, r, p, len(expected)), expected)


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"password too short: use at least {MIN_PASSWORD} characters")
    if "\x00" in password or "\n" in password:
        raise UsageError("password may not contain a newline or NUL character")


def set_password(store: Repository, customer_id: str, password: str) -> None:
    """Store a new salted hash of `password` as the customer's login (email from the
    customer record)."""
    check_new_password(password)
    hashed = hash_password(password)

    def work() -> None:
        customer = store.require("customers", (customer_id,))
        if not customer["email"]:
            raise UsageError(
                f"customer {customer_id!r} has no email, which is the login: "
                f"set one first with `ecom customers update {customer_id} --email ...`"
            )
        row = validate(
            schema.entity("logins"),
            {
                "customer_id": customer_id,
                "email": customer["email"],
                "password_hash": hashed,
                "updated_at": now(),
            },
        )
        if store.get("logins", (customer_id,)) is None:
            store.insert("logins", row)
        else:
            store.update(
                "logins", (customer_id,), {k: v for k, v in row.items() if k != "customer_id"}
            )

    store.atomic(work)


def check_password(store: Repository, customer_id: str, password: str) -> None:
    """Return if `password` is the customer's; else raise `AuthFailed` (exit 8)."""
    store.require("customers", (customer_id,))
    login = store.get("logins", (customer_id,))
    if login is None:
        raise NotFoundError(f"customer {customer_id!r} has no password set")
    if not verify_password(password, login["password_hash"]):
        raise AuthFailed(f"wrong password for customer {customer_id!r}")


# --- payment cards ----------------------------------------------------------------------

_CARD_NUMBER = re.compile(r"(?:\d[ -]?){12,19}")


def check_card(raw: Mapping[str, Any]) -> None:
    """Refuse input that carries a card number or CVV, by field name or by value."""
    entity = schema.entity("payment_cards")
    message = forbidden_fields(entity, raw)
    if message:
        raise EcomError(message)
    for name, value in raw.items():
        if isinstance(value, str | int) and _CARD_NUMBER.search(str(value)):
            raise EcomError(
                f"{name}: looks like a full card number; payment_cards keeps brand, last "
                "four digits and expiry only"
            )
