"""Exact decimal arithmetic in a mapping's field spec: `expr = "dollar_value /
number_of_cds"`.

A tiny evaluator over `Decimal`, not `eval`: the expression is parsed with `ast` and only
numbers, column names, `+ - * /`, unary minus and parentheses are accepted. Numbers are
read from their text (`0.1` is exactly one tenth), the arithmetic is Decimal's (28
significant digits), and the result is rounded half up (away from zero) to `places`
decimal places. An empty column gives an empty result (so a `default` can apply).
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, DivisionByZero, InvalidOperation, localcontext
from typing import Any

from ecomcli.errors import UsageError
from ecomcli.schema import normalize_name

Value = Callable[[Mapping[str, Any]], Decimal | None]

_BINARY: dict[type, Callable[[Decimal, Decimal], Decimal]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


@dataclass(frozen=True)
class Expression:
    text: str
    columns: list[str]  # normalized names the expression reads
    places: int
    evaluate: Value

    @classmethod
    def parse(cls, text: str, places: int, where: str) -> Expression:
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError:
            raise UsageError(f"{where}: expr {text!r} is not an expression") from None
        columns: list[str] = []
        evaluate = _compile(tree.body, text.strip(), columns, where)
        return cls(text, columns, places, evaluate)

    def __call__(self, rec: Mapping[str, Any]) -> str:
        """The rounded result as text, or "" when a column is empty."""
        with localcontext() as ctx:
            ctx.traps[DivisionByZero] = ctx.traps[InvalidOperation] = True
            try:
                result = self.evaluate(rec)
            except (DivisionByZero, InvalidOperation):
                raise ValueError(f"{self.text} divides by zero") from None
        if result is None:
            return ""
        return str(result.quantize(Decimal(1).scaleb(-self.places), rounding=ROUND_HALF_UP))


def _compile(node: ast.AST, source: str, columns: list[str], where: str) -> Value:
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        op = _BINARY[type(node.op)]
        left = _compile(node.left, source, columns, where)
        right = _compile(node.right, source, columns, where)

        def binary(rec: Mapping[str, Any]) -> Decimal | None:
            a, b = left(rec), right(rec)
            return None if a is None or b is None else op(a, b)

        return binary
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        inner = _compile(node.operand, source, columns, where)
        sign = -1 if isinstance(node.op, ast.USub) else 1

        def unary(rec: Mapping[str, Any]) -> Decimal | None:
            v = inner(rec)
            return None if v is None else v * sign

        return unary
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        number = Decimal(ast.get_source_segment(source, node) or str(node.value))
        return lambda rec: number
    if isinstance(node, ast.Name):
        name = normalize_name(node.id)
        columns.append(name)
        return lambda rec: _number(rec.get(name), name)
    shown = ast.get_source_segment(source, node) or type(node).__name__
    raise UsageError(
        f"{where}: expr may use numbers, column names, + - * / and parentheses, not {shown!r}"
    )


def _number(value: Any, column: str) -> Decimal | None:
    text = "" if value is None else str(value).strip()
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{column} is not a number: {text!r}") from None
    if not number.is_finite():
        raise ValueError(f"{column} is not a number: {text!r}")
    return number
