"""`ecom` starts without loading what only some commands need (issue 25): the data
libraries, the charting and forecasting stacks and the database drivers load on the
paths that use them, so `ecom --help` or `ecom orders place` does not pay for them."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from importlib.metadata import version

# top-level packages that `import ecomcli.cli` must not load (mysql-connector's C
# extension `_mysql_connector` is loaded on purpose, first: see ecomcli/__init__.py);
# pydantic: Typer 0.29 loads it to read an option's value (pyproject.toml)
HEAVY = ("pandas", "matplotlib", "statsmodels", "numpy", "scipy", "PIL", "mysql", "pymongo",
         "bson", "pydantic")  # fmt: skip


def modules_after(statement: str) -> set[str]:
    """The modules in sys.modules after `statement`, in a fresh interpreter."""
    code = f"{statement}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return set(json.loads(out.splitlines()[-1]))


def loaded_after(statement: str) -> set[str]:
    """The top-level packages in sys.modules after `statement`, in a fresh interpreter."""
    return {name.split(".")[0] for name in modules_after(statement)}


def test_importing_the_cli_loads_no_heavy_library_or_driver() -> None:
    assert loaded_after("import ecomcli.cli") & set(HEAVY) == set()


def test_the_check_sees_a_heavy_library_once_it_is_loaded() -> None:
    assert "numpy" in loaded_after("import ecomcli.cli, numpy")


def test_the_version_metadata_is_read_only_when_asked() -> None:
    assert "email" not in loaded_after("import ecomcli.cli")
    assert "email" in loaded_after("import ecomcli\necomcli.__version__")


def test_a_run_builds_the_commands_of_the_group_it_names_only() -> None:
    from ecomcli.cli import named_groups_only

    run = named_groups_only(["orders", "place", "--help"])
    commands = {g.name: len(g.typer_instance.registered_commands) for g in run.registered_groups}
    assert commands["orders"] > 0
    assert commands["customers"] == 0


def test_a_run_reads_the_parameters_of_the_command_it_names_only() -> None:
    from ecomcli.cli import app, named_groups_only

    run = named_groups_only(["import", "--help"])
    kept = {c.name: c.callback for c in run.registered_commands}
    whole = {c.name: c.callback for c in app.registered_commands}
    assert kept["import"] is whole["import"]
    assert kept["export"] is not whole["export"]
    assert kept["export"].__doc__ == whole["export"].__doc__  # what `ecom --help` lists
    assert inspect.signature(kept["export"]).parameters == {}


def test_ecom_help_lists_every_group_as_before() -> None:
    from typer.testing import CliRunner

    from ecomcli.cli import app, named_groups_only

    runner = CliRunner()
    whole = runner.invoke(app, ["--help"], prog_name="ecom", terminal_width=100)
    run = runner.invoke(named_groups_only(["--help"]), ["--help"], prog_name="ecom",
                        terminal_width=100)  # fmt: skip
    assert run.exit_code == whole.exit_code == 0
    assert run.output == whole.output
    assert "orders" in run.output and "inventory" in run.output


def test_ecom_version_answers_before_the_cli_is_imported() -> None:
    run = "import sys\nsys.argv = ['ecom', '--version']\nfrom ecomcli.launch import main\nmain()"
    loaded = modules_after(run)
    assert "ecomcli" in loaded
    assert loaded & {"typer", "rich", "ecomcli.cli", "ecomcli.repository"} == set()
    out = subprocess.run([sys.executable, "-c", run], capture_output=True, text=True,
                         check=True).stdout  # fmt: skip
    assert out == f"ecom {version('ecom')}\n"


def test_the_package_loads_the_repository_on_first_use() -> None:
    assert "ecomcli.repository" not in modules_after("import ecomcli")
    assert "ecomcli.repository" in modules_after("from ecomcli import connect")
    assert "ecomcli.errors" in modules_after("import ecomcli\necomcli.EcomError")


def test_a_report_from_the_cli_loads_no_data_library(tmp_path) -> None:
    db = f"sqlite:///{tmp_path / 'shop.db'}"
    subprocess.run([sys.executable, "-m", "ecomcli", "--db", db, "init-db"], check=True,
                   capture_output=True)  # fmt: skip
    argv = ["ecom", "--db", db, "report", "top-products", "--limit", "3"]
    run = (f"import sys\nsys.argv = {argv!r}\nfrom ecomcli.launch import main\n"
           "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code")  # fmt: skip
    assert loaded_after(run) & set(HEAVY) == set()


def test_only_a_run_naming_report_imports_the_report_modules() -> None:
    def run(*argv: str) -> str:
        return (f"import sys\nsys.argv = ['ecom', *{list(argv)!r}]\n"
                "from ecomcli.launch import main\n"
                "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code")

    def reports_loaded(*argv: str) -> set[str]:
        return {m for m in modules_after(run(*argv)) if m.startswith("ecomcli.reports.defs.")}

    assert reports_loaded("--help") == set()
    assert reports_loaded("orders", "--help") == set()
    assert "ecomcli.reports.defs.rfm" in reports_loaded("report", "--list")
