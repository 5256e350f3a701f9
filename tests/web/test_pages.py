"""The pages over HTTP: Chinese by default, English by the switch, the patient's timeline and
findings, the dose form's safety warning, import and audit pages."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from api.support import AS_OF, login, renal_patient
from bonepath.record.parse import parse_record
from bonepath.store.repository import Store


def test_worklist_is_chinese_by_default_and_english_after_the_switch(
    client: TestClient,
) -> None:
    login(client, "doc_a")
    zh = client.get("/worklist")
    assert "<h1>工作清单 · 2026-11-02</h1>" in zh.text
    assert 'lang="zh-CN"' in zh.text
    assert "骨改良药物即将到期（提前3天提醒）" in zh.text  # ADH-01's title, from the rule
    switched = client.get("/lang/en", params={"next": "/worklist"}, follow_redirects=False)
    assert switched.headers["location"] == "/worklist"
    en = client.get("/worklist")
    assert "<h1>Worklist · 2026-11-02</h1>" in en.text
    assert "Bone-targeted agent due (3-day reminder)" in en.text
    assert "工作清单" not in en.text


def test_worklist_rows_link_to_the_patient_most_urgent_first(client: TestClient) -> None:
    login(client, "doc_a")
    page = client.get("/worklist").text
    rows = re.findall(r'<tr class="sev-(\w+)" data-rule="([\w-]+)" data-patient="([\w-]+)"', page)
    assert {patient for _sev, _rule, patient in rows} == {"A-DUE", "A-RENAL"}
    # issue 15: overdue first (the follow-up scans), then the undated alert, then the
    # reminders due in 3 days (docs/registry.md "Ranking")
    assert [rule for _s, rule, _p in rows] == ["SCR-02", "SCR-02", "SAFE-13", "ADH-01", "ADH-01"]
    assert f'href="/patients/his/A-DUE?as_of={AS_OF.isoformat()}"' in page


def test_worklist_page_filters_by_physician_and_keeps_it_in_the_links(
    client: TestClient, store: Store
) -> None:
    record = renal_patient()
    record["physician"] = {"id": "DR-7"}
    store.upsert_records([parse_record(record, today=AS_OF)], import_source="tests")
    login(client, "doc_a")
    page = client.get("/worklist", params={"physician": "DR-7"}).text
    rows = re.findall(r'data-patient="([\w-]+)"', page)
    assert set(rows) == {"A-RENAL"}
    assert "医生工号" in page and 'name="physician" value="DR-7"' in page
    assert "physician=DR-7" in page  # the export links keep the filter


def test_patient_page_shows_timeline_findings_and_charts(client: TestClient) -> None:
    login(client, "doc_a")
    page = client.get("/patients/his/A-DUE").text
    assert "唑来膦酸 4 mg IV" in page  # a dose on the timeline
    assert "已阅骨窗" in page  # the CT's bone-window status
    assert "<svg" in page and "28天" in page  # dose intervals on the axis
    assert "肌酐清除率（Cockcroft-Gault）" in page
    assert 'data-rule="ADH-01"' in page
    # the explanation comes from the rule object
    assert "正在用药，距下次给药日0–3天：提醒患者和护士按时给药。" in page


def test_unsafe_dose_form_shows_the_warning_and_saves_nothing(
    client: TestClient, store: Store
) -> None:
    csrf = login(client, "doc_a")
    response = client.post(
        "/patients/his/A-RENAL/bta",
        data={
            "csrf_token": csrf,
            "date": "2026-11-02",
            "drug": "zoledronic_acid",
            "dose_mg": "4",
            "route": "iv",
        },
    )
    assert response.status_code == 409
    assert 'id="dose-warning"' in response.text
    assert "BTA-09" in response.text and "双膦酸盐剂量高于肾功能推荐剂量" in response.text
    assert 'name="override_reason"' in response.text
    record = store.get_record("his", "A-RENAL")
    assert record is not None and len(record.events.bta) == 4
    overridden = client.post(
        "/patients/his/A-RENAL/bta",
        data={
            "csrf_token": csrf,
            "date": "2026-11-02",
            "drug": "zoledronic_acid",
            "dose_mg": "4",
            "route": "iv",
            "override_reason": "MDT: full dose",
        },
        follow_redirects=False,
    )
    assert overridden.status_code == 303
    record = store.get_record("his", "A-RENAL")
    assert record is not None and record.events.bta[-1].dose_mg == 4.0


def test_nurse_sees_the_warning_without_an_override_field(client: TestClient) -> None:
    csrf = login(client, "nurse_a")
    response = client.post(
        "/patients/his/A-RENAL/bta",
        data={"csrf_token": csrf, "date": "2026-11-02", "drug": "zoledronic_acid", "dose_mg": "4"},
    )
    assert response.status_code == 409
    assert "仅临床医生可以越过安全警示。" in response.text
    assert 'name="override_reason"' not in response.text


def test_invalid_form_input_is_reported_by_json_path(client: TestClient) -> None:
    csrf = login(client, "nurse_a")
    response = client.post(
        "/patients/his/A-DUE/labs",
        data={
            "csrf_token": csrf,
            "date": "2026-11-02",
            "test": "calcium",
            "value": "abc",
            "unit": "mmol/L",
        },
    )
    assert response.status_code == 422
    assert "/events/labs/11/value" in response.text


def test_other_forms_record_exam_lab_dental_and_stop(client: TestClient, store: Store) -> None:
    csrf = login(client, "nurse_a")
    posts = {
        "imaging": {
            "modality": "ct",
            "region": "chest",
            "result": "negative",
            "bone_window_reviewed": "no",
        },
        "labs": {"test": "creatinine", "value": "88", "unit": "umol/L"},
        "dental": {"result": "needs_treatment"},
        "stop": {"reason": "patient_refusal"},
    }
    for form, fields in posts.items():
        response = client.post(
            f"/patients/his/A-DUE/{form}",
            data={"csrf_token": csrf, "date": "2026-11-01", **fields},
            follow_redirects=False,
        )
        assert response.status_code == 303, (form, response.text[-500:])
    record = store.get_record("his", "A-DUE")
    assert record is not None
    assert record.events.imaging[-1].bone_window_reviewed is False
    assert (record.events.labs[-1].value, record.events.labs[-1].unit) == (88.0, "umol/L")
    assert record.events.dental[-1].result.value == "needs_treatment"
    assert record.events.bta_stop[-1].reason.value == "patient_refusal"
    page = client.get("/patients/his/A-DUE").text
    assert "未阅骨窗" in page


def test_patient_page_of_another_hospital_is_404(client: TestClient) -> None:
    login(client, "doc_b")
    response = client.get("/patients/his/A-DUE", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert "不属于您有权限的医院" in response.text


def test_import_page_lists_accepted_and_refused(client: TestClient) -> None:
    import orjson

    from api.support import due_patient

    csrf = login(client, "doc_a")
    bad = due_patient("A-BAD")
    bad["sex"] = "x"
    body = orjson.dumps(due_patient("A-UP")) + b"\n" + orjson.dumps(bad) + b"\n"
    page = client.post(
        "/import",
        data={"csrf_token": csrf},
        files={"file": ("upload.ndjson", body, "application/x-ndjson")},
    )
    assert page.status_code == 200
    assert "新导入 1" in page.text and "已拒绝 1" in page.text
    assert "<code>/sex</code>" in page.text


def test_audit_page_is_for_admins(client: TestClient) -> None:
    login(client, "doc_a")
    client.get("/patients/his/A-DUE")
    assert client.get("/admin/audit", headers={"Accept": "text/html"}).status_code == 403
    client.cookies.clear()
    login(client, "admin")
    page = client.get("/admin/audit").text
    assert "<code>patient.read</code>" in page and "his/A-DUE" in page


def test_forms_cannot_write_to_a_patient_of_another_hospital(
    client: TestClient, store: Store
) -> None:
    csrf = login(client, "doc_b")
    for form, fields in {
        "bta": {"drug": "zoledronic_acid", "dose_mg": "3.3"},
        "labs": {"test": "calcium", "value": "2.3", "unit": "mmol/L"},
        "stop": {"reason": "cost"},
    }.items():
        response = client.post(
            f"/patients/his/A-DUE/{form}",
            data={"csrf_token": csrf, "date": "2026-11-01", **fields},
            headers={"Accept": "text/html"},
        )
        assert response.status_code == 404, form
    record = store.get_record("his", "A-DUE")
    assert record is not None
    assert (len(record.events.bta), len(record.events.bta_stop)) == (4, 0)


def _upload_bad_unit(client: TestClient, csrf: str) -> str:
    import orjson

    from api.support import due_patient

    bad = due_patient("A-UNIT")
    bad["events"]["labs"].append(
        {"date": "2026-10-30", "test": "calcium", "value": 2.3, "unit": "mg%"}
    )
    page = client.post(
        "/import",
        data={"csrf_token": csrf},
        files={"file": ("upload.ndjson", orjson.dumps(bad) + b"\n", "application/x-ndjson")},
    )
    assert page.status_code == 200
    return page.text


REFUSAL_ROW = re.compile(r'<tr data-patient="[^"]*" data-code="([A-Z_]+)">(?:<td[^>]*>[^<]*</td>){5}<td>(.*?)</td></tr>')
PROBLEM_ITEM = re.compile(
    r'<li>(?:<strong>[^<]*</strong>：)?<span title="([^"]*)">([^<]*)</span> '
    r'<small class="muted code">([A-Z_]+) · ([^<]*)</small>'
)
"""A refusal on the patient page: the words first (field, what is wrong and what to change),
the code and JSON path after them (issue 15 item 5)."""


def test_import_refusals_are_described_in_chinese_and_in_english(client: TestClient) -> None:
    csrf = login(client, "doc_a")
    english = (
        "unit &#39;mg%&#39; is not accepted for calcium; record the value in one of mmol/L, "
        "mg/dL (units are never guessed, VAL-03)"
    )
    zh = _upload_bad_unit(client, csrf)
    assert "已拒绝 1" in zh
    chinese = "该检验项目不接受此单位（可接受：mmol/L、mg/dL）"
    # one row per problem (issue 14's import page): the Chinese description and what to change,
    # the code and the JSON path beside it
    [row] = REFUSAL_ROW.findall(zh)
    assert row[0] == "UNKNOWN_UNIT" and row[1].startswith(chinese)
    assert "<code>/events/labs/11/unit</code>" in row[1]
    client.get("/lang/en")
    en = _upload_bad_unit(client, csrf)
    assert "Refused 1" in en
    [row] = REFUSAL_ROW.findall(en)
    assert row[0] == "UNKNOWN_UNIT" and row[1].startswith(english)
    assert "该检验项目" not in en


def test_a_refused_upload_file_is_described_in_chinese_with_the_english_detail(
    client: TestClient,
) -> None:
    csrf = login(client, "doc_a")
    files = {"file": ("notes.txt", b"hello", "text/plain")}
    zh = client.post("/import", data={"csrf_token": csrf}, files=files)
    assert zh.status_code == 422
    assert (
        '<p class="error" role="alert" id="import-error">不是可导入的文件类型；'
        "请上传 .csv、.xlsx、.zip、.json 或 .ndjson 文件（模板或医院导出） "
        '<span class="muted" lang="en">notes.txt: not an importable file; accepted:' in zh.text
    )
    client.get("/lang/en")
    en = client.post("/import", data={"csrf_token": csrf}, files=files)
    assert (
        '<p class="error" role="alert" id="import-error">notes.txt: not an importable file; accepted:'
        in en.text
    )
    assert "输入无效" not in en.text and "不是可导入" not in en.text


def test_form_problems_on_the_patient_page_are_described_in_the_pages_language(
    client: TestClient,
) -> None:
    csrf = login(client, "nurse_a")
    form = {
        "csrf_token": csrf,
        "date": "2026-11-02",
        "test": "calcium",
        "value": "abc",
        "unit": "mmol/L",
    }
    zh = client.post("/patients/his/A-DUE/labs", data=form)
    assert zh.status_code == 422
    [(english, shown, code, path)] = PROBLEM_ITEM.findall(zh.text)
    assert (path, code) == ("/events/labs/11/value", "NOT_A_NUMBER")
    assert shown.startswith("应为数值（不能是文本、是/否或空值）；")  # then what to change
    assert "<strong>数值</strong>：" in zh.text
    client.get("/lang/en")
    en = client.post("/patients/his/A-DUE/labs", data=form)
    [(english_en, shown_en, code_en, path_en)] = PROBLEM_ITEM.findall(en.text)
    assert (english_en, code_en, path_en) == (english, code, path)
    assert shown_en.startswith(english)
    assert english.startswith("events.labs[11].value must be a JSON number, not &#34;abc&#34;")
