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


def test_form_numbers_as_people_type_them(client: TestClient, store: Store) -> None:
    """Issue 15 item 6: "1,200" U/L was stored as 1.2 and "3,0" as 3.0; full-width digits."""
    csrf = login(client, "doc_a")

    def lab(value: str) -> int:
        return client.post(
            "/patients/his/A-DUE/labs",
            data={
                "csrf_token": csrf,
                "date": "2026-11-01",
                "test": "alp",
                "value": value,
                "unit": "U/L",
            },
            follow_redirects=False,
        ).status_code

    assert lab("1,200") == 303
    assert lab("１３５") == 303
    refused = client.post(
        "/patients/his/A-DUE/labs",
        data={
            "csrf_token": csrf,
            "date": "2026-11-01",
            "test": "alp",
            "value": "3,0",
            "unit": "U/L",
        },
    )
    assert refused.status_code == 422 and "AMBIGUOUS_VALUE" in refused.text
    record = store.get_record("his", "A-DUE")
    assert record is not None
    alp = [lab.value for lab in record.events.labs if lab.test.value == "alp"]
    assert alp[-2:] == [1200.0, 135.0] and 3.0 not in alp


def _task_ids(page: str) -> dict[str, str]:
    return dict(re.findall(r'id="task-(\d+)" data-rule="([\w-]+)"', page)[::-1][::1]) and {
        rule: task for task, rule in re.findall(r'id="task-(\d+)" data-rule="([\w-]+)"', page)
    }


def test_demo_tasks_close_with_an_explicit_outcome(client: TestClient, store: Store) -> None:
    """Issue 15 item 2: the demo has tasks; the close form pre-selects no reason (it was
    "费用原因"); closing as done while the record does not show the dose says what is missing."""
    from bonepath.cli.demo_cmd import demo_tasks

    assert demo_tasks(store, AS_OF) > 0
    csrf = login(client, "nurse_a")
    assert client.get("/api/tasks").json()
    page = client.get("/patients/his/A-DUE").text
    assert '<option value="" selected disabled>请选择结果…</option>' in page
    task = _task_ids(page)["ADH-01"]
    url = f"/patients/his/A-DUE/tasks/{task}/close"
    no_reason = client.post(url, data={"csrf_token": csrf})
    assert no_reason.status_code == 422 and 'id="problems"' in no_reason.text
    done = client.post(url, data={"csrf_token": csrf, "reason": "done"})
    assert done.status_code == 200  # followed to the patient page
    assert "任务已关闭，但记录中还没有体现：需要录入骨改良药物给药记录" in done.text
    assert "ADH-01 才会离开工作清单" in done.text
    assert f'id="task-{task}"' not in done.text
    # recorded first, then closed as done: the row leaves the worklist and nothing is missing
    task = _task_ids(client.get("/patients/his/A-RENAL").text)["ADH-01"]
    dose = {"csrf_token": csrf, "date": "2026-11-02", "drug": "zoledronic_acid"}
    saved = client.post(
        "/patients/his/A-RENAL/bta",
        data={**dose, "dose_mg": "3.3", "route": "iv", "interval_days": "28"},
    )
    assert saved.status_code == 200 and 'id="saved"' in saved.text
    closed = client.post(
        f"/patients/his/A-RENAL/tasks/{task}/close", data={"csrf_token": csrf, "reason": "done"}
    )
    assert closed.status_code == 200 and "still-missing" not in closed.text
    rows = _rows(client.get("/worklist").text)
    assert ("ADH-01", "A-RENAL", "") not in rows and ("ADH-01", "A-DUE", "") in rows


def test_dose_safety_before_saving(client: TestClient, store: Store) -> None:
    """Issue 15 item 4: a duplicate dose the same day, denosumab given IV and a dose above
    the label maximum are refused outright (even with an override reason); a second agent
    within 28 days (BTA-08) is a warning only a clinician's reason can pass."""
    csrf = login(client, "doc_a")
    url = "/patients/his/A-DUE/bta"
    base = {"csrf_token": csrf, "override_reason": "clinician decided"}

    def post(**form: str) -> tuple[int, str]:
        response = client.post(url, data={**base, **form})
        return response.status_code, response.text

    status, page = post(date="2026-10-08", drug="zoledronic_acid", dose_mg="4", route="iv")
    assert status == 422 and "DUPLICATE_DOSE" in page and "同一天已记录过该药物" in page
    status, page = post(date="2026-11-02", drug="denosumab", dose_mg="120", route="iv")
    assert status == 422 and "WRONG_ROUTE" in page and "地舒单抗皮下注射" in page
    status, page = post(date="2026-11-02", drug="zoledronic_acid", dose_mg="8", route="iv")
    assert status == 422 and "DOSE_ABOVE_LABEL" in page and "不可越过" in page
    before = store.get_record("his", "A-DUE")
    assert before is not None and len(before.events.bta) == 4
    warned = client.post(
        url,
        data={
            "csrf_token": csrf,
            "date": "2026-11-02",
            "drug": "denosumab",
            "dose_mg": "120",
            "route": "sc",
        },
    )
    assert warned.status_code == 409 and "BTA-08" in warned.text
    after = store.get_record("his", "A-DUE")
    assert after is not None and len(after.events.bta) == 4
