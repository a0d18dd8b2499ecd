"""One module per report, found by `ecomcli.reports` (see docs/reports.md, "Adding a
report"). A module defines `SPEC`, and `sql(d, p)` / `pipeline(p)` unless its spec
computes it from other reports (`SPEC.compute`)."""
