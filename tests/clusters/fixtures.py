"""Session fixtures: one Galera cluster and one Spider cluster per test session, started
in a temporary folder on free local ports and stopped after (see servers.py). They run
with the MySQL backend (`ECOM_TEST_BACKENDS` without `mysql` skips them); a cluster that
cannot start fails the run under CI=true, like a missing server."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import BACKENDS, unavailable
from test_reports_parity import CASES

from clusters.servers import Cluster, ClusterUnavailable, start_galera, start_spider
from ecomcli import reports
from ecomcli.repository import Repository


def _session_cluster(kind: str, start: Callable[[Path], Cluster]) -> Iterator[Cluster]:
    if "mysql" not in BACKENDS:
        pytest.skip(f"the {kind} cluster tests run with the mysql backend (ECOM_TEST_BACKENDS)")
    folder = Path(tempfile.mkdtemp(prefix=f"ecom-{kind}-"))
    try:
        cluster = start(folder)
    except ClusterUnavailable as e:
        shutil.rmtree(folder, ignore_errors=True)
        unavailable(f"the {kind} cluster did not start: {e}")
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session", name="galera")
def galera_fixture() -> Iterator[Cluster]:
    yield from _session_cluster("galera", start_galera)


@pytest.fixture(scope="session", name="spider")
def spider_fixture() -> Iterator[Cluster]:
    yield from _session_cluster("spider", start_spider)


def assert_same_reports(expected: Repository, store: Repository) -> None:
    """Every case of the parity test gives `store` the rows and notes it gives `expected`."""
    for report, params in CASES:
        want = reports.run(expected, report, params)
        got = reports.run(store, report, params)
        assert want.rows, (report, params, "an empty result proves nothing")
        assert got.rows == want.rows, (report, params)
        assert got.notes == want.notes, (report, params)


def fresh_name() -> str:
    return f"ecom_test_{uuid.uuid4().hex[:10]}"
