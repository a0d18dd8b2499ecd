"""Named reports: the questions a store asks of its data, answered inside the database.

Each report is one module under `reports/defs/` (found here by `pkgutil`: adding a report
is adding a file; see docs/reports.md, "Adding a report"): its `SPEC` (options, stable
output columns, money columns, chart, finisher), its SQL (`sql(d, p)`, and
`summarized_sql(d, p)` over the summaries it names in `SUMMARIES`), its MongoDB pipeline
(`pipeline(p)`). `run(store, name, params)` checks the options, lets the backend
aggregate (`store.run_report(report, p)`, which returns money as Decimal) and finishes
the small result with the spec's finisher, identically for every backend: averages are
exact ratios rounded half-up, rankings and tie-breaks are applied in one defined order.
Definitions are written down in docs/reports.md.

    >>> from ecomcli import reports
    >>> reports.run(store, "top-products", {"limit": 3}).frame()
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING

from ecomcli.errors import NotFoundError
from ecomcli.gc_pause import gc_paused  # rows hold no cycles: no collections
from ecomcli.reports import defs
from ecomcli.reports.model import (
    CENT,
    ZERO,
    Chart,
    Option,
    Params,
    Report,
    ReportResult,
    ReportSpec,
    Table,
    ratio,
)

if TYPE_CHECKING:
    from ecomcli.repository import Repository


def _discover() -> dict[str, Report]:
    """Every module of `reports/defs/` that declares a `SPEC`, in `--list` order."""
    found = []
    for info in pkgutil.iter_modules(defs.__path__):
        module = importlib.import_module(f"{defs.__name__}.{info.name}")
        spec = getattr(module, "SPEC", None)
        if isinstance(spec, ReportSpec):
            found.append(Report(spec, module))
    found.sort(key=lambda r: (r.spec.listed, r.name))
    return {r.name: r for r in found}


DEFINED: dict[str, Report]  # every report, by name (made by `_defined`)
REPORTS: dict[str, ReportSpec]  # their specs


def _defined() -> dict[str, Report]:
    """The reports, discovered when first asked for: a command that runs none (`ecom
    --help`) does not import their modules."""
    if "DEFINED" not in globals():
        defined = _discover()
        globals().update(DEFINED=defined, REPORTS={n: r.spec for n, r in defined.items()})
    return globals()["DEFINED"]


def __getattr__(name: str) -> object:
    if name in ("DEFINED", "REPORTS"):
        _defined()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def report(name: str) -> Report:
    found = _defined().get(name)
    if found is None:
        raise NotFoundError(f"unknown report {name!r}; reports: {', '.join(_defined())}")
    return found


def spec(name: str) -> ReportSpec:
    return report(name).spec


# money columns a finisher derives from the database's (shown as money in every format)
def _shown_money(s: ReportSpec, columns: list[str]) -> tuple[str, ...]:
    return tuple(c for c in columns if c in (*s.money, *s.derived_money))


def run(store: Repository, name: str, params: Params | None = None) -> ReportResult:
    """Run report `name` on `store` with `params` (option name -> value)."""
    r = report(name)
    s = r.spec
    p = s.params(params or {})
    if s.compute is not None:
        return s.compute(store, p)

    with gc_paused():
        done = s.finish(store.run_report(r, p), p)
    columns = s.columns(p)
    title = f"{name}: {s.description}"
    return ReportResult(name, done.select(columns), money=_shown_money(s, columns), title=title)


__all__ = [
    "CENT", "DEFINED", "REPORTS", "ZERO", "Chart", "Option", "Report", "ReportResult",
    "ReportSpec", "Table", "ratio", "report", "run", "spec",
]  # fmt: skip
