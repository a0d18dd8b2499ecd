"""SHIM (intel, issue 21): pipeline pieces shared by report modules, under the
report-architecture branch's name (issue 20). Dropped at merge in favour of its module."""

from ecomcli.reports.mongo import DAY_MS, between, lookup, nullable, order_revenue, period, sale

__all__ = ["DAY_MS", "between", "lookup", "nullable", "order_revenue", "period", "sale"]
