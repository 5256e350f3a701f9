"""The nurse's worklist of issue 15 over HTTP: filters read as typed (never a bare 422),
ranking overdue first, one row per item with its reason in words, names and phones."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from api.support import AS_OF, due_patient, login
from bonepath.record.parse import parse_record
from bonepath.store.repository import Store


def _rows(page: str) -> list[tuple[str, str, str]]:
    return re.findall(r'data-rule="([\w-]+)" data-patient="([\w-]+)" data-item="([^"]*)"', page)


def test_empty_and_odd_filters_never_answer_422(client: TestClient) -> None:
    login(client, "doc_a")
    empty = client.get("/worklist", params={"due_within": "", "rule": "", "hospital": ""})
    assert empty.status_code == 200
    assert {p for _r, p, _i in _rows(empty.text)} == {"A-DUE", "A-RENAL"}
    odd = client.get("/worklist", params={"due_within": "abc", "as_of": "11/2"})
    assert odd.status_code == 200
    # the field is named, with what to write
    assert "到期天数内“abc”：请填写 0–3650 的整数天数，或留空（不限）" in odd.text
    assert "评估日期“11/2”" in odd.text
    assert _rows(odd.text) == _rows(empty.text)  # shown without the unusable filter
    # full-width digits are digits
    wide = client.get("/worklist", params={"due_within": "３"})
    assert 'name="due_within" inputmode="numeric" value="3"' in wide.text


def test_hospital_codes_are_case_insensitive_and_an_unknown_one_says_so(
    client: TestClient,
) -> None:
    login(client, "doc_a")
    lower = client.get("/worklist", params={"hospital": "ha"})
    assert lower.status_code == 200 and _rows(lower.text)
    assert 'name="hospital" value="HA"' in lower.text
    unknown = client.get("/worklist", params={"hospital": "H99"})
    assert unknown.status_code == 200 and _rows(unknown.text) == []
    assert "医院“H99”：没有这家医院，或您未获授权；可选：HA" in unknown.text
    other = client.get("/worklist", params={"hospital": "hb"})  # another hospital's: not yours
    assert "医院“hb”：没有这家医院，或您未获授权" in other.text
    rule = client.get("/worklist", params={"rule": "adh"})
    assert {r for r, _p, _i in _rows(rule.text)} <= {"ADH-01", "ADH-02", "ADH-03"}
    assert "规则或类别“XYZ”" in client.get("/worklist", params={"rule": "xyz"}).text


def test_due_within_keeps_undated_items_when_asked(client: TestClient) -> None:
    login(client, "doc_a")
    dated = _rows(client.get("/worklist", params={"due_within": "3650"}).text)
    both = _rows(client.get("/worklist", params={"due_within": "3650", "undated": "1"}).text)
    undated = client.get("/worklist").text
    assert len(both) > len(dated)
    assert set(both) == set(_rows(undated))


def test_rows_say_why_and_who_to_call(client: TestClient, store: Store) -> None:
    """A patient 11 days overdue for zoledronic acid (last dose 2026-09-24) ranks before the
    reminders due soon, its row says so in words, with the name and phone from ``identity``."""
    late = due_patient("A-LATE")
    for n, day in enumerate(["2026-07-02", "2026-07-30", "2026-08-27", "2026-09-24"]):
        late["events"]["bta"][n]["date"] = day
    late["identity"] = {"name": "李秀英", "phone": "138-0013-8000"}
    store.upsert_records([parse_record(late, today=AS_OF)], import_source="tests")
    login(client, "nurse_a")
    page = client.get("/worklist").text
    rows = [(rule, patient) for rule, patient, _item in _rows(page)]
    # overdue first, the longest first: the follow-up bone scans (93 days), then the
    # injection 11 days overdue, then the undated alert (now), then the reminders due in 3 days
    assert rows.index(("ADH-02", "A-LATE")) == 3
    assert rows.index(("ADH-02", "A-LATE")) < rows.index(("SAFE-13", "A-RENAL"))
    assert rows.index(("SAFE-13", "A-RENAL")) < rows.index(("ADH-01", "A-DUE"))
    assert "骨扫描 逾期 93 天" in page and "唑来膦酸 3 天后到期；上次 2026-10-08" in page
    assert "唑来膦酸 逾期 11 天；上次 2026-09-24" in page
    assert '<span class="name">李秀英</span> A-LATE' in page
    assert "☎ 138-0013-8000" in page
    # the other hospital's clinician sees neither the patient nor the name
    client.cookies.clear()
    login(client, "doc_b")
    assert "李秀英" not in client.get("/worklist").text
    # English
    client.cookies.clear()
    login(client, "nurse_a")
    client.get("/lang/en")
    assert "zoledronic acid 11 days overdue; last 2026-09-24" in client.get("/worklist").text
