"""One module per report: its `SPEC`, `sql(d, p)`, `pipeline(p)` and finisher."""
