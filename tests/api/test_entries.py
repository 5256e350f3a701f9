"""Correcting and voiding record entries (issue 15 item 3), on SQLite and PostgreSQL: the
record keeps the history, a past day is evaluated as it was known that day, only the author
or a clinician may change an entry, and a stale form changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.support import AS_OF, login
from bonepath.api import entries, services
from bonepath.errors import RecordRefused
from bonepath.store import accounts
from bonepath.store.repository import Store
from bonepath.store.revisions import entry_revisions, revisions_of
from web.clinician_support import GAPS_ID, add_gaps_patient


def _principal(store: Store, name: str) -> accounts.Principal:
    user = accounts.find_user(store.engine, name)
    return accounts.Principal(user.id, user.username, user.role, frozenset(user.hospitals))


def test_a_correction_after_a_day_leaves_that_day_unchanged(store: Store) -> None:
    """A creatinine corrected on 2026-11-02 (0.92 -> 3.4 mg/dL): the day before still reads
    0.92 (no SAFE-13 grade), the correction's day reads 3.4; the record holds 3.4 and the
    history holds both values, who changed it and why."""
    add_gaps_patient(store)
    doctor = _principal(store, "doc_a")
    before_day = AS_OF - dt.timedelta(days=1)
    _rec, earlier = services.findings(store, doctor, "his", GAPS_ID, before_day)
    assert not earlier.fired("SAFE-13")
    record = services.load_patient(store, doctor, "his", GAPS_ID)
    index = next(i for i, lab in enumerate(record.events.labs) if lab.value == 0.92)
    entry = record.to_json_dict()["events"]["labs"][index]
    entries.change_entry(
        store,
        doctor,
        record,
        "labs",
        index,
        entries.fingerprint(entry),
        {**entry, "value": 3.4},
        "transcription error: 3.4 in the lab report",
        today=AS_OF,
    )
    stored = store.get_record("his", GAPS_ID)
    assert stored is not None and stored.events.labs[index].value == 3.4
    _rec, replay = services.findings(store, doctor, "his", GAPS_ID, before_day)
    assert not replay.fired("SAFE-13")  # what was known on 2026-11-01
    assert [f.to_json() for f in replay.findings] == [f.to_json() for f in earlier.findings]
    _rec, today = services.findings(store, doctor, "his", GAPS_ID, AS_OF)
    assert today.fired("SAFE-13")  # 3.4 mg/dL > 3 x ULN: the correction counts from its day
    history = revisions_of(store.engine, "his", GAPS_ID)
    assert [(r.action, r.username, r.reason) for r in history] == [
        ("correct", "doc_a", "transcription error: 3.4 in the lab report")
    ]
    assert history[0].before is not None and history[0].before["value"] == 0.92
    assert history[0].after is not None and history[0].after["value"] == 3.4
    assert history[0].recorded_on == AS_OF


def test_a_void_is_kept_in_the_history_and_undone_for_earlier_days(store: Store) -> None:
    add_gaps_patient(store)
    doctor = _principal(store, "doc_a")
    record = services.load_patient(store, doctor, "his", GAPS_ID)
    dental = record.to_json_dict()["events"]["dental"][0]
    entries.change_entry(
        store,
        doctor,
        record,
        "dental",
        0,
        entries.fingerprint(dental),
        None,
        "wrong patient",
        today=AS_OF,
    )
    stored = store.get_record("his", GAPS_ID)
    assert stored is not None and stored.events.dental == ()
    earlier = entries.known_on(store, stored, AS_OF - dt.timedelta(days=1))
    assert [d.date for d in earlier.events.dental] == [dt.date(2026, 8, 20)]
    assert entries.known_on(store, stored, AS_OF).events.dental == ()
    (voided,) = revisions_of(store.engine, "his", GAPS_ID)
    assert (voided.action, voided.before, voided.after) == ("void", dental, None)


def test_an_entry_added_later_is_not_known_on_an_earlier_day(store: Store) -> None:
    add_gaps_patient(store)
    nurse = _principal(store, "nurse_a")
    services.record_event(
        store,
        nurse,
        "his",
        GAPS_ID,
        "symptoms",
        {"date": "2026-10-20", "bone_pain": 5},
        today=AS_OF,
    )
    _rec, day = services.findings(store, nurse, "his", GAPS_ID, AS_OF)
    assert not day.fired("PAIN-01") and day.fired("PAIN-03")
    _rec, before = services.findings(store, nurse, "his", GAPS_ID, dt.date(2026, 10, 25))
    assert before.fired("PAIN-01")  # on 2026-10-25 nobody had recorded the pain score yet


def test_only_the_author_or_a_clinician_changes_an_entry(store: Store) -> None:
    add_gaps_patient(store)
    nurse = _principal(store, "nurse_a")
    mdt = _principal(store, "mdt_a")
    services.record_event(
        store, nurse, "his", GAPS_ID, "vitals", {"date": "2026-11-02", "weight_kg": 68}, today=AS_OF
    )
    record = services.load_patient(store, nurse, "his", GAPS_ID)
    vitals = record.to_json_dict()["events"]["vitals"][0]
    with pytest.raises(RecordRefused) as refused:
        entries.change_entry(
            store,
            mdt,
            record,
            "vitals",
            0,
            entries.fingerprint(vitals),
            {**vitals, "weight_kg": 86},
            "typo",
            today=AS_OF,
        )
    assert [p.code for p in refused.value.problems] == ["NOT_AUTHOR"]
    # an imported entry has no author: a nurse may not void it, a clinician may
    labs = record.to_json_dict()["events"]["labs"]
    with pytest.raises(RecordRefused) as refused:
        entries.change_entry(
            store, nurse, record, "labs", 0, entries.fingerprint(labs[0]), None, "dup", today=AS_OF
        )
    assert [p.code for p in refused.value.problems] == ["NOT_AUTHOR"]
    entries.change_entry(
        store,
        nurse,
        record,
        "vitals",
        0,
        entries.fingerprint(vitals),
        {**vitals, "weight_kg": 86},
        "typed 68 for 86",
        today=AS_OF,
    )
    stored = store.get_record("his", GAPS_ID)
    assert stored is not None and stored.events.vitals[0].weight_kg == 86


def test_a_reason_is_required_except_to_complete_missing_fields(store: Store) -> None:
    add_gaps_patient(store)
    nurse = _principal(store, "nurse_a")
    record = services.load_patient(store, nurse, "his", GAPS_ID)
    femur = record.to_json_dict()["bone_metastasis"]["lesions"][0]
    fp = entries.fingerprint(femur)
    with pytest.raises(RecordRefused) as refused:
        entries.change_entry(
            store,
            nurse,
            record,
            "lesions",
            0,
            fp,
            {"site": "femur", "kind": "blastic"},
            None,
            today=AS_OF,
        )
    assert {p.code for p in refused.value.problems} == {"NOT_AUTHOR", "REASON_REQUIRED"}
    # filling in what SURG-01 asks for changes nothing recorded: no reason, anyone who records
    entries.change_entry(
        store,
        nurse,
        record,
        "lesions",
        0,
        fp,
        {**femur, "cortical_involvement_pct": 70},
        None,
        today=AS_OF,
    )
    _rec, evaluation = services.findings(store, nurse, "his", GAPS_ID, AS_OF)
    (surg01,) = evaluation.fired("SURG-01")
    assert surg01.kind.value == "action" and surg01.values["total"] >= 9


def test_a_stale_form_changes_nothing(store: Store) -> None:
    add_gaps_patient(store)
    doctor = _principal(store, "doc_a")
    record = services.load_patient(store, doctor, "his", GAPS_ID)
    lab = record.to_json_dict()["events"]["labs"][0]
    entries.change_entry(
        store,
        doctor,
        record,
        "labs",
        0,
        entries.fingerprint(lab),
        {**lab, "value": 0.95},
        "typo",
        today=AS_OF,
    )
    # the same form again: the entry it read is gone
    fresh = services.load_patient(store, doctor, "his", GAPS_ID)
    with pytest.raises(RecordRefused) as refused:
        entries.change_entry(
            store, doctor, fresh, "labs", 0, entries.fingerprint(lab), None, "again", today=AS_OF
        )
    assert [p.code for p in refused.value.problems] == ["ENTRY_NOT_FOUND"]
    # a record read before someone else's write: RECORD_CHANGED, nothing written
    lab2 = fresh.to_json_dict()["events"]["labs"][1]
    with pytest.raises(RecordRefused) as refused:
        entries.change_entry(
            store, doctor, record, "labs", 1, entries.fingerprint(lab2), None, "stale", today=AS_OF
        )
    assert [p.code for p in refused.value.problems] == ["RECORD_CHANGED"]
    with store.engine.connect() as conn:
        assert len(conn.execute(select(entry_revisions)).all()) == 1


def test_correct_and_void_through_the_pages_are_audited(client: TestClient, store: Store) -> None:
    add_gaps_patient(store)
    csrf = login(client, "doc_a")
    page = client.get(f"/patients/his/{GAPS_ID}", params={"edit": "dental:0"})
    assert page.status_code == 200 and 'id="form-edit"' in page.text
    record = store.get_record("his", GAPS_ID)
    assert record is not None
    fp = entries.fingerprint(record.to_json_dict()["events"]["dental"][0])
    refused = client.post(
        f"/patients/his/{GAPS_ID}/entry",
        data={
            "csrf_token": csrf,
            "family": "dental",
            "index": "0",
            "fingerprint": fp,
            "action": "correct",
            "date": "2026-08-20",
            "result": "needs_treatment",
        },
    )
    assert refused.status_code == 422
    assert "请填写更正或作废的原因" in refused.text  # next to the reason field, in Chinese
    assert 'value="needs_treatment" selected' in refused.text  # nothing typed is lost
    saved = client.post(
        f"/patients/his/{GAPS_ID}/entry",
        data={
            "csrf_token": csrf,
            "family": "dental",
            "index": "0",
            "fingerprint": fp,
            "action": "correct",
            "date": "2026-08-20",
            "result": "needs_treatment",
            "reason": "口腔科报告为需治疗",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    page = client.get(f"/patients/his/{GAPS_ID}").text
    assert "更正与作废记录" in page and "口腔科报告为需治疗" in page
    record = store.get_record("his", GAPS_ID)
    assert record is not None and record.events.dental[0].result.value == "needs_treatment"
    audit = accounts.read_audit(store.engine, patient_id=GAPS_ID)
    assert [(a.action, a.outcome) for a in audit][:2] == [
        ("patient.read", "ok"),
        ("entry.correct", "ok"),
    ]
    assert any(a.action == "entry.refused" and a.outcome == "refused" for a in audit)


def test_the_json_api_corrects_and_voids_like_the_pages(client: TestClient, store: Store) -> None:
    add_gaps_patient(store)
    csrf = login(client, "nurse_a")
    headers = {"X-CSRF-Token": csrf}
    record = store.get_record("his", GAPS_ID)
    assert record is not None
    lab = record.to_json_dict()["events"]["labs"][0]
    url = f"/api/patients/his/{GAPS_ID}/entries"
    body = {"family": "labs", "index": 0, "fingerprint": entries.fingerprint(lab), "reason": "x"}
    refused = client.post(f"{url}/void", json=body, headers=headers)
    assert refused.status_code == 422  # an imported entry: a nurse is not its author
    assert [e["code"] for e in refused.json()["errors"]] == ["NOT_AUTHOR"]
    client.cookies.clear()
    csrf = login(client, "doc_a")
    headers = {"X-CSRF-Token": csrf}
    wrong = client.post(
        f"{url}/correct", json={**body, "entry": {**lab, "unit": "mmol/L"}}, headers=headers
    )
    assert wrong.status_code == 422  # the record parser's refusal, by path
    assert wrong.json()["errors"][0]["path"] == "/events/labs/0/unit"
    done = client.post(
        f"{url}/correct", json={**body, "entry": {**lab, "value": 1.1}}, headers=headers
    )
    assert done.status_code == 200 and done.json()["after"]["value"] == 1.1
    outside = client.post("/api/patients/his/B-ONE/entries/void", json=body, headers=headers)
    assert outside.status_code == 404  # another hospital's patient does not exist for doc_a
