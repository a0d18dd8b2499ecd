"""SHIM (intel, issue 21): SQL pieces shared by report modules, under the report-architecture
branch's name (issue 20). Dropped at merge in favour of that branch's real module."""

from ecomcli.reports.summaries import SALE

__all__ = ["SALE"]
