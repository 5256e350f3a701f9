"""Quality pages without a wait (issue 15 item 8): the warm-up builds the default period's
printable report and hospital cuts, so their first look is served from the cache; a changed
store makes them stale (rebuilt in the background, the old one served meanwhile); a period
not evaluated yet answers at once with a page saying it is being computed (zh and en), then
the result."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.support import AS_OF, login, seed
from bonepath.api.app import create_app
from bonepath.population import quality_cache
from bonepath.population.quality_cache import BUILDS, CACHE
from bonepath.record.parse import parse_record
from bonepath.settings import Settings
from bonepath.store.repository import Store, open_store
from bonepath.synth import generate_record

DEFAULT_START = dt.date(AS_OF.year, 1, 1)


def _wait_for(condition: Callable[[], bool], what: str, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(f"sqlite:///{tmp_path}/q.sqlite3") as opened:
        seed(opened, synthetic=12)
        yield opened


def test_the_warm_up_builds_the_default_report_and_a_write_makes_it_stale(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(CACHE, "min_age_s", 0.0)  # a write is seen at the next look
    settings = Settings(database_url=str(store.engine.url), worklist_warmup=True)
    app = create_app(settings, today=lambda: AS_OF, store=store)
    with TestClient(app) as client:
        key = ("printed", (), "zh")

        def warmed() -> bool:
            evaluation = CACHE.peek(store, DEFAULT_START, AS_OF)
            # the hospital's report is the warm-up's last step
            return evaluation is not None and evaluation.built(("printed", ("HB",), "zh"))

        _wait_for(warmed, "the quality warm-up")
        evaluation = CACHE.peek(store, DEFAULT_START, AS_OF)
        assert evaluation is not None and evaluation.built(key)
        assert evaluation.built(("printed", (), "en"))
        assert ("HA",) in evaluation._reports  # each hospital's dashboard cut
        assert evaluation.built(("qc11_readers", ()))  # QC-11 by reader, a store query

        login(client, "qm")  # every hospital: the whole registry's report
        before = BUILDS.copy()
        report = client.get("/quality/report.html")
        assert report.status_code == 200 and "QC-01" in report.text
        one = client.get("/quality", params={"hospital": "HA"})
        assert one.status_code == 200 and 'data-measure="QC-07"' in one.text
        assert before == BUILDS  # served from the cache: nothing evaluated or rendered

        # a new patient: the next look serves the old report and rebuilds it in the background
        extra = parse_record(generate_record(500, 11), today=AS_OF)
        store.upsert_records([extra], import_source="tests")
        assert client.get("/quality/report.html").text == report.text  # stale, served at once

        def rebuilt() -> bool:
            now = CACHE.peek(store, DEFAULT_START, AS_OF)
            return now is not None and now is not evaluation

        _wait_for(rebuilt, "the re-evaluation after the write")
        fresh = CACHE.peek(store, DEFAULT_START, AS_OF)
        assert fresh is not None and fresh.built(key)  # built again before it was served
        assert fresh.generation != evaluation.generation
        assert fresh.people.num_rows == evaluation.people.num_rows + 1
        assert BUILDS["evaluation"] == before["evaluation"] + 1
        assert BUILDS["printed"] > before["printed"]
        after = BUILDS.copy()
        assert client.get("/quality/report.html").status_code == 200
        assert after == BUILDS


@pytest.fixture
def background_client(store: Store) -> Iterator[TestClient]:
    # every registry counts as large: a period not evaluated yet is computed in the background
    settings = Settings(database_url=str(store.engine.url), quality_background_patients=0)
    with TestClient(create_app(settings, today=lambda: AS_OF, store=store)) as client:
        yield client


def _ready(store: Store, start: str, end: str) -> Callable[[], bool]:
    day_from, day_to = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    return lambda: quality_cache.CACHE.peek(store, day_from, day_to) is not None


def test_a_new_period_says_it_is_being_computed_then_shows_it(
    background_client: TestClient, store: Store
) -> None:
    login(background_client, "qm")
    period = {"from": "2025-01-01", "to": "2025-06-30"}
    page = background_client.get("/quality", params=period)
    assert page.status_code == 202
    assert "正在计算 2025-01-01 至 2025-06-30 的质量指标" in page.text
    assert "本页每 5 秒自动刷新" in page.text and "立即刷新" in page.text
    assert page.headers["refresh"] == "5; url=/quality?from=2025-01-01&to=2025-06-30"
    assert 'id="quality-table"' not in page.text
    report = background_client.get("/quality/report.html", params=period)
    assert report.status_code == 202 and "正在计算 2025-01-01 至 2025-06-30" in report.text
    assert re.search(r'<meta http-equiv="refresh" content="5">', report.text)

    _wait_for(_ready(store, "2025-01-01", "2025-06-30"), "the background evaluation")
    page = background_client.get("/quality", params=period)
    assert page.status_code == 200 and 'data-measure="QC-01"' in page.text
    assert "正在计算" not in page.text
    assert background_client.get("/quality/report.html", params=period).status_code == 200


def test_the_computing_page_in_english(background_client: TestClient, store: Store) -> None:
    login(background_client, "qm")
    background_client.get("/lang/en")
    period = {"from": "2024-01-01", "to": "2024-12-31"}
    page = background_client.get("/quality", params=period)
    assert page.status_code == 202
    assert "The quality indicators of 2024-01-01 to 2024-12-31 are being computed" in page.text
    assert "refreshes itself every 5 seconds" in page.text and "Refresh now" in page.text
    assert "正在计算" not in page.text
    _wait_for(_ready(store, "2024-01-01", "2024-12-31"), "the background evaluation")
    page = background_client.get("/quality", params=period)
    assert page.status_code == 200 and "Whitepaper baseline" in page.text
