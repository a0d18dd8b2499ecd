"""Turn raw values (CSV strings, JSON values, command-line options) into typed rows.

`Validator(entity)` compiles one converter per field from the schema and is called once
per row; it returns a dict of Python values (str, int, Decimal, date, datetime, bool or
None) or raises `ValidationError` naming the field. The same code serves imports, the
record commands and the Python API.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ecomcli.errors import EcomError, ValidationError
from ecomcli.schema import TEXT_BYTES, Entity, Field

Converter = Callable[[Any], Any]

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
DIGITS = re.compile(r"^[0-9]+$")
TRUE = {"1", "true", "t", "yes", "y"}
FALSE = {"0", "false", "f", "no", "n"}

# Input that would put a secret where ecom refuses to keep one.
FORBIDDEN = {
    "payment_cards": (
        {"cardnumber", "number", "pan", "cardno", "cvv", "cvc", "cvv2", "securitycode"},
        "payment_cards keeps brand, last four digits and expiry only: "
        "a full card number or a CVV is never stored",
    ),
    "logins": (
        {"password", "passwd", "pwd", "plainpassword"},
        "logins keep a salted hash, never a password: use `ecom customers set-password`",
    ),
}


def forbidden_fields(entity: Entity, names: Iterable[str]) -> str | None:
    """An error message if `names` carries a field ecom refuses to store for `entity`."""
    rule = FORBIDDEN.get(entity.name)
    if rule is None:
        return None
    bad = [n for n in names if re.sub(r"[^a-z0-9]", "", n.lower()) in rule[0]]
    return f"{rule[1]} (refused field {bad[0]!r})" if bad else None


def parse_datetime(value: str, fmt: str | None = None) -> datetime:
    """ISO 8601 (with or without zone, `T` or space) or `fmt`; aware values become UTC."""
    dt = datetime.strptime(value, fmt) if fmt else datetime.fromisoformat(value)
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt.replace(microsecond=0)


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _scalar(value: Any) -> Any:
    if isinstance(value, dict | list | tuple | set):
        raise ValueError(f"expected a single value, got {type(value).__name__} {value!r}"[:120])
    return value


def _identifier(text: str) -> str:
    """An id in NFC (a composed `é` and `e` + accent are one id); an invisible or control
    character (a zero-width space, a tab, a direction mark) makes a look-alike: refused."""
    text = unicodedata.normalize("NFC", text)
    if not text.isprintable():  # False for categories C* and Z* except the ASCII space
        bad = next(c for c in text if not c.isprintable())
        raise ValueError(
            f"contains an invisible or control character U+{ord(bad):04X} "
            f"({unicodedata.name(bad, 'unnamed')}): {text!r}"
        )
    return text


def _string(f: Field) -> Converter:
    length, check, is_key, is_text = f.length, f.check, f.type == "key", f.type == "text"

    def convert(value: Any) -> str:
        value = _scalar(value)
        if isinstance(value, bool):
            raise ValueError(f"expected text, got {value!r}")
        if isinstance(value, float) and f.type == "key" and value.is_integer():
            text = repr(value)
        else:
            text = value if isinstance(value, str) else str(value)
        if is_key:
            text = _identifier(text)
        if length is not None and len(text) > length:
            raise ValueError(f"longer than {length} characters ({len(text)})")
        if is_text and len(text) > TEXT_BYTES // 4 and len(text.encode()) > TEXT_BYTES:
            raise ValueError(f"longer than {TEXT_BYTES} bytes in UTF-8 ({len(text.encode())})")
        if "\x00" in text:
            raise ValueError("contains a NUL byte")
        if check == "email" and not EMAIL.match(text):
            raise ValueError(f"not an email address: {text!r}")
        if check == "digits" and (not DIGITS.match(text) or (length and len(text) != length)):
            raise ValueError(f"expected {length} digits, got {text!r}")
        return text

    return convert


def _integer(f: Field) -> Converter:
    low, high = f.int_range

    def convert(value: Any) -> int:
        value = _scalar(value)
        if isinstance(value, bool):
            raise ValueError(f"expected a whole number, got {value!r}")
        if isinstance(value, int):
            number = value
        else:
            text = str(value).strip()
            try:
                number = int(text)
            except ValueError:
                try:
                    as_decimal = Decimal(text)
                except InvalidOperation:
                    raise ValueError(f"not a whole number: {text!r}") from None
                if not as_decimal.is_finite():
                    raise ValueError(f"not a whole number: {text!r}") from None
                # compared before int(): 1e999999999 would make a 400 MB int
                _in_range(low, high, as_decimal, text)
                if as_decimal != as_decimal.to_integral_value():
                    raise ValueError(f"not a whole number: {text!r}") from None
                number = int(as_decimal)
        _in_range(low, high, number, number)
        return number

    return convert


def _in_range(low: int, high: int, number: int | Decimal, shown: Any) -> None:
    if number < low:
        raise ValueError(f"out of range: must be at least {low}, got {shown}")
    if number > high:
        raise ValueError(f"out of range: must be at most {high}, got {shown}")


def _decimal(f: Field) -> Converter:
    quantum = Decimal(1).scaleb(-f.scale)
    max_abs = Decimal(10) ** (f.precision - f.scale)

    def convert(value: Any) -> Decimal:
        value = _scalar(value)
        if isinstance(value, bool):
            raise ValueError(f"expected a number, got {value!r}")
        text = repr(value) if isinstance(value, float) else str(value).strip()
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"not a number: {text!r}") from None
        if not number.is_finite():
            raise ValueError(f"not a finite number: {text!r}")
        # before quantize(), which cannot hold more than 28 digits (1e30 would raise)
        if abs(number) >= max_abs:
            raise ValueError(f"out of range: must be below {max_abs:,} in size, got {text}")
        exact = number.quantize(quantum)
        if exact != number:
            raise ValueError(f"more than {f.scale} decimal places: {text!r}")
        _bounds(f, exact)
        return exact

    return convert


def _bounds(f: Field, number: int | Decimal) -> None:
    if f.min is not None and number < f.min:
        raise ValueError(f"must be at least {f.min}, got {number}")
    if f.max is not None and number > f.max:
        raise ValueError(f"must be at most {f.max}, got {number}")


def _date(f: Field, fmt: str | None) -> Converter:
    def convert(value: Any) -> date:
        value = _scalar(value)
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        text = str(value).strip()
        try:
            if fmt:
                return datetime.strptime(text, fmt).date()
            return date.fromisoformat(text) if len(text) == 10 else parse_datetime(text).date()
        except ValueError:
            raise ValueError(f"not a date: {text!r} (expected YYYY-MM-DD)") from None

    return convert


def _datetime(f: Field, fmt: str | None) -> Converter:
    def convert(value: Any) -> datetime:
        value = _scalar(value)
        if isinstance(value, datetime):
            return parse_datetime(value.isoformat())
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day)
        text = str(value).strip()
        try:
            return parse_datetime(text, fmt)
        except ValueError:
            if fmt:
                try:  # a file may mix its own format with ISO 8601
                    return parse_datetime(text)
                except ValueError:
                    pass
            expected = fmt or "ISO 8601, e.g. 2024-05-01 13:45:00"
            raise ValueError(f"not a date and time: {text!r} (expected {expected})") from None

    return convert


def _boolean(f: Field) -> Converter:
    def convert(value: Any) -> bool:
        value = _scalar(value)
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in TRUE:
            return True
        if text in FALSE:
            return False
        raise ValueError(f"not true or false: {value!r}")

    return convert


def _enum(f: Field) -> Converter:
    canonical = {v.lower(): v for v in f.enum}

    def convert(value: Any) -> str:
        value = _scalar(value)
        found = canonical.get(str(value).strip().lower())
        if found is None:
            raise ValueError(f"{value!r} is not one of: {', '.join(f.enum)}")
        return found

    return convert


def converter(f: Field, date_format: str | None = None) -> Converter:
    match f.type:
        case "key" | "string" | "text":
            return _string(f)
        case "int":
            return _integer(f)
        case "money" | "decimal":
            return _decimal(f)
        case "date":
            return _date(f, date_format)
        case "datetime":
            return _datetime(f, date_format)
        case "bool":
            return _boolean(f)
        case "enum":
            return _enum(f)
    raise AssertionError(f"no converter for {f.type}")


class Validator:
    """Validate and convert rows of one entity.

    `partial=True` validates only the fields a row carries (updates, `--mode merge`):
    missing required fields are not an error there and no defaults are filled in.

    Whole rows go through a function compiled once per validator (`compile_fast`); any
    row it cannot handle, invalid ones included, is re-run through the per-field
    converters (`convert_slow`), which are the specification: same results, same errors.
    """

    def __init__(
        self, entity: Entity, *, partial: bool = False, date_format: str | None = None
    ) -> None:
        self.entity = entity
        self.partial = partial
        self.date_format = date_format
        self.converters = {f.name: converter(f, date_format) for f in entity.fields}
        self.fields = entity.fields
        self.fast: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None
        if not partial:
            self.fast = compile_fast(self, None)

    def __call__(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        if self.fast is not None:
            return self.fast(raw)
        return self.convert_slow(raw)

    def for_columns(
        self, positions: Mapping[str, int]
    ) -> Callable[[Sequence[Any]], dict[str, Any]]:
        """A converter of value lists (CSV records): `positions` maps field names to
        indexes; the fields it lacks are missing. Same results and errors as calling the
        validator on `{name: values[i] for name, i in positions.items()}`."""
        if self.partial:
            slow = self.convert_slow
            items = list(positions.items())
            return lambda values: slow({n: values[i] for n, i in items})
        return compile_fast(self, dict(positions))

    def convert_slow(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for f in self.fields:
            name = f.name
            if name not in raw:
                if self.partial and name not in self.entity.key:
                    continue
                value = None
            else:
                value = raw[name]
            if _is_blank(value):
                if self.partial and name in raw:  # an update that clears a field
                    if f.required:
                        raise ValidationError(name, "required field is empty")
                    row[name] = None
                elif f.default is not None:
                    row[name] = f.default
                elif f.required:
                    raise ValidationError(name, "required field is empty")
                else:
                    row[name] = None
                continue
            try:
                row[name] = self.converters[name](value)
            except ValueError as e:
                raise ValidationError(name, str(e)) from None
        check_row(self.entity, row)
        return row


# --- the compiled fast path ---------------------------------------------------------------


class _Fallback(Exception):
    """Raised inside compiled code: let the per-field converters decide."""


def _fast_text(f: Field, i: int) -> list[str]:
    lines = []
    if f.type == "key":  # anything but printable ASCII goes to `_identifier`
        lines.append("if not (v.isascii() and v.isprintable()): raise FB")
    if f.type == "text":  # perhaps over TEXT_BYTES: the converter measures
        lines.append(f"if len(v) > {TEXT_BYTES // 4}: raise FB")
    if f.length is not None:
        lines.append(f"if len(v) > {f.length}: raise FB")
    lines.append("if '\\x00' in v: raise FB")
    if f.check == "email":
        lines.append("if EMAIL(v) is None: raise FB")
    if f.check == "digits":
        lines.append("if DIGITS(v) is None: raise FB")
        if f.length:
            lines.append(f"if len(v) != {f.length}: raise FB")
    lines.append(f"o{i} = v")
    return lines


def _bound_lines(f: Field, var: str) -> list[str]:
    lines = []
    if f.min is not None:
        lines.append(f"if {var} < {f.min!r}: raise FB")
    if f.max is not None:
        lines.append(f"if {var} > {f.max!r}: raise FB")
    return lines


def _fast_lines(f: Field, i: int, fmt: str | None, env: dict[str, Any]) -> list[str]:
    """Code converting the non-blank str `v` into `o{i}`; `raise FB` where unsure."""
    match f.type:
        case "key" | "string" | "text":
            return _fast_text(f, i)
        case "int":
            low, high = f.int_range
            return [f"o{i} = int(v)", f"if not {low} <= o{i} <= {high}: raise FB"]
        case "money" | "decimal":
            env[f"Q{i}"] = Decimal(1).scaleb(-f.scale)
            env[f"MAX{i}"] = Decimal(10) ** (f.precision - f.scale)
            # NaN quantizes to NaN, which is != d; an infinity raises: both fall back
            return [
                "d = DEC(v)",
                f"o{i} = d.quantize(Q{i})",
                f"if o{i} != d or not -MAX{i} < o{i} < MAX{i}: raise FB",
                *_bound_lines(f, f"o{i}"),
            ]
        case "date" if fmt is None:
            return ["t = v.strip()", f"o{i} = DATE_ISO(t) if len(t) == 10 else C{i}(v)"]
        case "datetime" if fmt is None:
            return [
                f"o{i} = DT_ISO(v.strip())",
                f"if o{i}.tzinfo is not None: o{i} = o{i}.astimezone(UTC).replace(tzinfo=None)",
                f"if o{i}.microsecond: o{i} = o{i}.replace(microsecond=0)",
            ]
        case "bool":
            return [
                "t = v.strip().lower()",
                f"if t in TRUE: o{i} = True",
                f"elif t in FALSE: o{i} = False",
                "else: raise FB",
            ]
        case "enum":
            env[f"E{i}"] = {v.lower(): v for v in f.enum}
            return [f"o{i} = E{i}.get(v.strip().lower())", f"if o{i} is None: raise FB"]
    return [f"o{i} = C{i}(v)"]


def compile_fast(
    validator: Validator, positions: dict[str, int] | None
) -> Callable[[Any], dict[str, Any]]:
    """One function converting a whole row with inline code (non-partial validators).

    `positions` None: the function takes a mapping (field name -> raw value); else a
    sequence of values, field `name` at index `positions[name]`. Blank values take the
    default or None; a required blank field, a value of an unexpected type the inline
    code does not cover, or any failure hands the row to `convert_slow`.
    """
    entity, fmt = validator.entity, validator.date_format
    env: dict[str, Any] = {
        "FB": _Fallback,
        "DEC": Decimal,
        "DATE_ISO": date.fromisoformat,
        "DT_ISO": datetime.fromisoformat,
        "UTC": UTC,
        "TRUE": TRUE,
        "FALSE": FALSE,
        "EMAIL": EMAIL.match,
        "DIGITS": DIGITS.match,
        "str": str,
        "SLOW": validator.convert_slow,
        "CHECK_ROW": check_row,
        "ENTITY": entity,
    }
    body: list[str] = []
    for i, f in enumerate(entity.fields):
        env[f"C{i}"] = validator.converters[f.name]
        if f.default is not None:
            env[f"D{i}"] = f.default
            blank = f"o{i} = D{i}"
        elif f.required:
            blank = "raise FB"
        else:
            blank = f"o{i} = None"
        if positions is not None and f.name not in positions:
            body.append(blank)  # a column the file lacks: blank in every row
            continue
        access = f"raw.get({f.name!r})" if positions is None else f"raw[{positions[f.name]}]"
        body.append(f"v = {access}")
        body.append("if v.__class__ is str:")
        body.append("    if v and not v.isspace():")
        body.extend("        " + line for line in _fast_lines(f, i, fmt, env))
        body.append(f"    else: {blank}")
        body.append(f"elif v is None: {blank}")
        body.append("else:")
        body.append(f"    o{i} = C{i}(v)")
    fields = ", ".join(f"{f.name!r}: o{i}" for i, f in enumerate(entity.fields))
    body.append(f"row = {{{fields}}}")
    if entity.name in ROW_RULES:
        body.append("CHECK_ROW(ENTITY, row)")
    body.append("return row")
    if positions is None:
        fallback = "SLOW(raw)"
    else:
        env["ITEMS"] = list(positions.items())
        fallback = "SLOW({n: raw[i] for n, i in ITEMS})"
    code = "def fast(raw):\n    try:\n"
    code += "".join(f"        {line}\n" for line in body)
    code += f"    except Exception:\n        pass\n    return {fallback}\n"
    exec(compile(code, f"<validator {entity.name}>", "exec"), env)
    return env["fast"]


ROW_RULES = {"products"}  # the entities `check_row` has rules for


def check_row(entity: Entity, row: Mapping[str, Any]) -> None:
    """Rules that span several fields (only for the entities in `ROW_RULES`)."""
    if entity.name == "products":
        clothes = [n for n in ("size", "material", "gender") if row.get(n) is not None]
        if clothes and row.get("kind", "clothes") != "clothes":
            raise ValidationError(
                clothes[0], f"is a clothes attribute but kind is {row.get('kind')!r}"
            )


def check_fields(entity: Entity, names: Iterable[str]) -> None:
    """Refuse secrets ecom never stores and fields the entity does not have."""
    names = list(names)
    message = forbidden_fields(entity, names)
    if message:
        raise EcomError(message)
    unknown = [k for k in names if not entity.has_field(k)]
    if unknown:
        raise ValidationError(
            unknown[0], f"{entity.name} has no such field; fields: {', '.join(entity.field_names)}"
        )


def validate(entity: Entity, raw: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Validate one row (for records and the Python API); unknown fields are an error."""
    check_fields(entity, raw)
    return Validator(entity, partial=partial)(raw)
