"""The CDS service is warm before its first call (issue 18: the first call after start took
698 ms): with CDS clients configured, the app evaluates a synthetic patient-view and order-sign
at startup, before uvicorn takes connections; without clients it does not (no cost to an
installation without CDS Hooks). Speed itself is measured in bench/ (fhir_bench.py cds-open)."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

from bonepath.api.app import create_app
from bonepath.api.cds_hooks import CdsClient, CdsConfig
from bonepath.engine.evaluate import evaluate, point_of_care_runner
from bonepath.record.parse import parse_record
from bonepath.settings import Settings
from bonepath.store.repository import Store
from bonepath.synth import generate_record

from .support import AS_OF


def test_startup_warms_the_cds_service_only_when_clients_are_configured(
    store: Store, db_url: str
) -> None:
    with_clients = create_app(Settings(database_url=db_url), today=lambda: AS_OF, store=store)
    with_clients.state.cds_config = CdsConfig(
        {"https://ehr": CdsClient("https://ehr", {"keys": []})}
    )
    without = create_app(Settings(database_url=db_url), today=lambda: AS_OF, store=store)
    without.state.cds_config = CdsConfig()

    with TestClient(with_clients), TestClient(without):
        assert with_clients.state.cds_warmed_up is True
        assert without.state.cds_warmed_up is False


def test_the_point_of_care_runner_reused_gives_each_record_its_own_findings() -> None:
    """The runner keeps its stage tables between evaluations (emptied and refilled, so SQLite
    keeps its statements prepared): a record evaluated after others gets the findings it gets
    first in a fresh runner, nothing left from the one before."""
    today = dt.date(2026, 11, 23)
    records = [parse_record(generate_record(i, 5), today=today) for i in range(4)]
    point_of_care_runner()
    first = [evaluate(r, today).findings for r in records]
    again = [evaluate(r, today).findings for r in reversed(records)]

    assert again == list(reversed(first))
    assert sum(len(fs) for fs in first) > 0
