"""The worklist warm-up (`BONEPATH_WORKLIST_WARMUP`, `bonepath serve --warm-worklists`): every
hospital's worklist of the day is evaluated in the background when the app starts and again
when the day changes; each user's worklist is then cut from it (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bonepath.api import services
from bonepath.api.app import create_app
from bonepath.population import registry as registry_module
from bonepath.population.registry import evaluate_registry
from bonepath.population.worklist import WORKLIST_KINDS, WorklistFilter, WorklistItem
from bonepath.settings import Settings
from bonepath.store.accounts import Principal, Role
from bonepath.store.repository import Store

from .support import AS_OF, login

EVERYONE = Principal(1, "t", Role.CLINICIAN, frozenset({"*"}))
HOSPITAL_A = Principal(2, "a", Role.CLINICIAN, frozenset({"HA"}))


def _wait_for(condition: Callable[[], bool], what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _keys(items: list[WorklistItem]) -> list[tuple[object, ...]]:
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


class _HeldEvaluation:
    """``evaluate_registry`` counted, the first call held until :attr:`release` is set (or
    failing once released, with ``fail``), so a request can be made to arrive while the
    warm-up's evaluation is under way without any timing."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, fail: bool = False) -> None:
        self.calls: list[tuple[dt.date, tuple[str, ...]]] = []
        self.runners: list[object] = []
        self.running = 0
        self.most_at_once = 0
        self.started = threading.Event()
        self.release = threading.Event()
        self._fail = fail
        self._lock = threading.Lock()
        self._real = registry_module.evaluate_registry
        monkeypatch.setattr(registry_module, "evaluate_registry", self)

    def __call__(self, store: Store, day: dt.date, **kwargs: Any) -> Any:
        with self._lock:
            self.calls.append((day, tuple(kwargs.get("hospitals", ()))))
            self.runners.append(kwargs.get("runner"))
            first = len(self.calls) == 1
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            if first:
                self.started.set()
                assert self.release.wait(60), "never released"
                if self._fail:
                    raise RuntimeError("the held evaluation failed")
            return self._real(store, day, **kwargs)
        finally:
            with self._lock:
                self.running -= 1


def test_during_the_warm_up_everyone_waits_for_it_and_a_nurse_is_evaluated_beside(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = _HeldEvaluation(monkeypatch)
    cache = services.RegistryCache()
    warmer = services.WorklistWarmer(store, cache, lambda: AS_OF, poll_s=60)
    warmer.start()
    answers: dict[str, list[WorklistItem]] = {}

    def look(name: str, principal: Principal) -> None:
        answers[name] = services.worklist(store, principal, AS_OF, WorklistFilter(), cache=cache)[1]

    try:
        assert held.started.wait(60)  # the warm-up is evaluating every hospital
        everyone = threading.Thread(target=look, args=("everyone", EVERYONE))
        everyone.start()
        _wait_for(lambda: cache.waiting() == 1, "the user of every hospital to wait")
        assert held.calls == [(AS_OF, ())]  # no second evaluation of the registry
        # a nurse of HA has her list while the warm-up is still held: her hospital alone,
        # on SQLite on the second DuckDB connection (the first is the warm-up's)
        look("nurse", HOSPITAL_A)
        assert held.calls == [(AS_OF, ()), (AS_OF, ("HA",))]
        # on PostgreSQL the plan runs in the database: no DuckDB connection to share
        beside = services.side_runner() if store.engine.dialect.name == "sqlite" else None
        assert held.runners == [None, beside]
        assert everyone.is_alive() and "everyone" not in answers
        held.release.set()
        everyone.join(60)
        _wait_for(lambda: warmer.warmed == [AS_OF], "the warm-up")
        look("nurse again", HOSPITAL_A)  # cached: nothing more evaluated
    finally:
        held.release.set()
        warmer.stop()
    assert len(held.calls) == 2 and held.most_at_once == 2
    fresh = evaluate_registry(store, AS_OF)
    assert _keys(answers["everyone"]) == _keys(fresh.items(WorklistFilter()))
    nurse = _keys(fresh.selected(("HA",)).items(WorklistFilter()))
    assert nurse and _keys(answers["nurse"]) == nurse == _keys(answers["nurse again"])
    assert {i.hospital for i in answers["nurse"]} == {"HA"}


def test_users_of_every_hospital_wait_for_the_one_evaluation_in_flight(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = _HeldEvaluation(monkeypatch)
    cache = services.RegistryCache()
    answers: list[list[WorklistItem]] = []

    def look() -> None:
        answers.append(services.worklist(store, EVERYONE, AS_OF, WorklistFilter(), cache=cache)[1])

    users = [threading.Thread(target=look) for _ in range(3)]
    users[0].start()
    assert held.started.wait(60)
    for user in users[1:]:
        user.start()
    _wait_for(lambda: cache.waiting() == 2, "two more users to wait")
    held.release.set()
    for user in users:
        user.join(60)
    assert held.calls == [(AS_OF, ())] and held.most_at_once == 1  # one evaluation, not three
    assert len(answers) == 3 and answers[0] == answers[1] == answers[2]


def test_a_failed_evaluation_leaves_the_waiting_request_to_evaluate_alone(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = _HeldEvaluation(monkeypatch, fail=True)
    cache = services.RegistryCache()
    failed: list[BaseException] = []
    answers: list[WorklistItem] = []

    def first() -> None:
        try:
            services.cached_registry(store, AS_OF, (), (), cache)
        except RuntimeError as exc:
            failed.append(exc)

    def second() -> None:
        answers.extend(services.worklist(store, EVERYONE, AS_OF, WorklistFilter(), cache=cache)[1])

    owner = threading.Thread(target=first)
    owner.start()
    assert held.started.wait(60)
    waiter = threading.Thread(target=second)
    waiter.start()
    _wait_for(lambda: cache.waiting() == 1, "the second request to wait")
    held.release.set()
    owner.join(60)
    waiter.join(60)
    assert len(failed) == 1
    # then the waiting request evaluated the registry itself, after the failure, not beside it
    assert held.calls == [(AS_OF, ()), (AS_OF, ())] and held.most_at_once == 1
    expected = evaluate_registry(store, AS_OF).items(WorklistFilter())
    assert _keys(answers) == _keys(expected)


NOW = services.Generation(3, 3, None)


def test_which_requests_wait_for_an_evaluation_in_flight(store: Store) -> None:
    cache = services.RegistryCache()
    assert cache.claim(AS_OF, ("HA",), (), NOW) is None  # a nurse of HA evaluates
    assert cache.claim(AS_OF, ("HB",), (), NOW) is None  # HB is not in it: evaluated beside
    next_day = AS_OF + dt.timedelta(days=1)
    assert cache.claim(next_day, ("HA",), (), NOW) is None  # nor is another day
    same = cache.claim(AS_OF, ("HA",), (), NOW)
    assert same is not None and not same.done.is_set()  # a second nurse of HA waits
    wider = cache.claim(AS_OF, ("HB",), ("onc",), NOW)
    assert wider is not None  # HB's oncology ward is inside HB's list in flight
    assert not cache.every_hospital_in_flight(AS_OF)
    assert cache.claim(AS_OF, (), (), NOW) is None  # every hospital is wider than HA: evaluated
    assert cache.every_hospital_in_flight(AS_OF)
    assert not cache.every_hospital_in_flight(next_day)
    # beside the evaluation of every hospital: a named hospital's list is evaluated at once,
    # a department across every hospital waits
    assert cache.claim(AS_OF, ("HC",), (), NOW) is None
    assert cache.claim(AS_OF, (), ("onc",), NOW) is not None
    assert cache.waiting() == 3
    cache.land(AS_OF, ("HA",), ())
    assert same.done.is_set() and not wider.done.is_set()


def test_a_stale_evaluation_that_cannot_be_refreshed_is_evaluated_again(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = _HeldEvaluation(monkeypatch)
    held.release.set()
    cache = services.RegistryCache()
    stale = evaluate_registry(store, AS_OF)
    cache.put((AS_OF, (), ()), services.Generation(0, None, None), stale)  # no write time
    now = services.store_generation(store)
    assert cache.claim(AS_OF, (), (), now) is None  # stale: not read as landed
    cache.land(AS_OF, (), ())
    done: list[object] = []
    look = threading.Thread(
        target=lambda: done.append(services.cached_registry(store, AS_OF, (), (), cache))
    )
    look.start()
    look.join(120)
    assert not look.is_alive() and len(done) == 1  # evaluated, not read again and again
    assert held.calls == [(AS_OF, ())] and done[0] is not stale
    assert cache.get((AS_OF, (), ())) == (now, done[0])
