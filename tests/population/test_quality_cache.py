"""The quality pages' cached evaluation (issue 15 item 8): one pass of the stages over the whole
registry, cut per hospital, gives exactly the report of evaluating that hospital alone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from bonepath.population.quality import measure_registry
from bonepath.population.quality_cache import QualityCache, evaluate
from bonepath.store.repository import Store
from population.support import AS_OF, small_registry_records, stored

START = dt.date(2026, 1, 1)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    url = f"sqlite:///{tmp_path_factory.mktemp('qcache') / 'store.sqlite3'}"
    with stored(url, small_registry_records()) as opened:
        yield opened


def test_a_hospital_cut_from_the_whole_registry_equals_its_own_evaluation(store: Store) -> None:
    whole = evaluate(store, START, AS_OF)
    hospitals = sorted({str(h) for h in whole.people["hospital_id"].to_pylist() if h})
    assert len(hospitals) >= 2
    assert whole.report().to_json() == measure_registry(store, START, AS_OF).to_json()
    for scope in ([hospitals[0]], hospitals[:2]):
        cut = whole.report(scope).to_json()
        alone = measure_registry(store, START, AS_OF, hospitals=scope).to_json()
        assert cut == alone
        assert any(m["denominator"] for m in cut["measures"])  # something was counted


def test_the_cache_serves_one_evaluation_per_period(store: Store) -> None:
    cache = QualityCache()
    first = cache.get(store, START, AS_OF)
    assert cache.get(store, START, AS_OF) is first
    assert cache.get(store, dt.date(2025, 1, 1), AS_OF) is not first
