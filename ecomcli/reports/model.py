"""SHIM (intel, issue 21): the report model under the name the report-architecture
branch (issue 20) gives it. Dropped at merge in favour of that branch's real module."""

from __future__ import annotations

from typing import Any

from ecomcli.reports import (
    CENT,
    FROM,
    LIMIT,
    PERIODS,
    SALE_EXCLUDED,
    TO,
    ZERO,
    Cents,
    Chart,
    Option,
    Params,
    ReportResult,
    ReportSpec,
    Row,
    Table,
    bar,
    cols,
    dense_rank,
    fill_periods,
    integer,
    limited,
    money,
    next_period,
    per_row,
    ratio,
    to_datetime,
)

Built = tuple[str, list[Any]]
Pipeline = tuple[str, list[dict[str, Any]]]

__all__ = [
    "CENT", "FROM", "LIMIT", "PERIODS", "SALE_EXCLUDED", "TO", "ZERO", "Built", "Cents",
    "Chart", "Option", "Params", "Pipeline", "ReportResult", "ReportSpec", "Row", "Table",
    "bar", "cols", "dense_rank", "fill_periods", "integer", "limited", "money",
    "next_period", "per_row", "ratio", "to_datetime",
]  # fmt: skip
