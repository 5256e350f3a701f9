"""The worklist warm-up (`BONEPATH_WORKLIST_WARMUP`, `bonepath serve --warm-worklists`): every
hospital's worklist of the day is evaluated in the background when the app starts and again
when the day changes; each user's worklist is then cut from it (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from fastapi.testclient import TestClient

from bonepath.api import services
from bonepath.api.app import create_app
from bonepath.population.registry import evaluate_registry
from bonepath.population.worklist import WORKLIST_KINDS, WorklistFilter
from bonepath.settings import Settings
from bonepath.store.repository import Store

from .support import AS_OF, login


def _wait_for(condition: Callable[[], bool], what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _keys(items: list[services.WorklistItem]) -> list[tuple[object, ...]]:
    return [(i.source, i.patient, i.rule, i.finding.item, i.due) for i in items]


def test_the_app_warms_every_hospital_and_serves_each_user_from_it(
    store: Store, db_url: str
) -> None:
    settings = Settings(database_url=db_url, worklist_warmup=True)
    app = create_app(settings, today=lambda: AS_OF, store=store)
    with TestClient(app, base_url="http://testserver") as client:
        warmer = app.state.worklist_warmer
        _wait_for(lambda: warmer.warmed == [AS_OF], "the warm-up")
        context = app.state.bonepath
        warmed = context.worklists.get((AS_OF, (), ()))
        assert warmed is not None
        everything = warmed[1]
        assert _keys(everything.items()) == _keys(evaluate_registry(store, AS_OF).items())
        login(client, "doc_a")
        response = client.get("/api/worklist", params={"as_of": AS_OF.isoformat()})
        assert response.status_code == 200
        served = response.json()["items"]
        assert served and {item["hospital"] for item in served} == {"HA"}
        # the API lists every kind but info unless asked (rules 1.1)
        expected = evaluate_registry(store, AS_OF, hospitals=("HA",)).items(
            WorklistFilter(kinds=WORKLIST_KINDS)
        )
        assert [(i["patient"], i["rule"]) for i in served] == [
            (i.patient, i.rule) for i in expected
        ]
        cut = context.worklists.get((AS_OF, ("HA",), ()))
        assert cut is not None  # cut from the warm evaluation, sharing its objects
        shared = {id(e) for e in everything.evaluations}
        assert all(id(e) in shared for e in cut[1].evaluations)
    assert not warmer._thread.is_alive()  # stopped with the app


def test_a_new_day_is_warmed_once_it_comes(store: Store) -> None:
    days = [AS_OF]
    cache = services.RegistryCache()
    warmer = services.WorklistWarmer(store, cache, lambda: days[-1], poll_s=0.05)
    warmer.start()
    try:
        _wait_for(lambda: warmer.warmed == [AS_OF], "the first day")
        next_day = AS_OF + dt.timedelta(days=1)
        days.append(next_day)
        _wait_for(lambda: warmer.warmed == [AS_OF, next_day], "the next day")
        time.sleep(0.3)  # several polls on the same day evaluate nothing more
        assert warmer.warmed == [AS_OF, next_day]
    finally:
        warmer.stop()
    for day in (AS_OF, next_day):
        found = cache.get((day, (), ()))
        assert found is not None
        assert _keys(found[1].items()) == _keys(evaluate_registry(store, day).items())
