"""Issue 15 items 1 and 9 over HTTP: ``GET /api/worklist`` reads filters as the web page does
(empty is no filter, codes case-insensitive, an unusable value named with its field in the
caller's language, never a 422), the exports speak the page's language with a days-overdue
column and mask names and phones unless asked, and saved views belong to their user.
One store for the module (the two-hospital test patients and one with an ``identity``)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from api.support import AS_OF, due_patient, login, seed
from bonepath.api.app import create_app
from bonepath.record.parse import parse_record
from bonepath.settings import Settings
from bonepath.store.repository import open_store


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path_factory.mktemp('wlapi') / 'web.sqlite3'}"
    with open_store(url) as store:
        seed(store)
        late = due_patient("A-LATE")
        for n, day in enumerate(["2026-07-02", "2026-07-30", "2026-08-27", "2026-09-24"]):
            late["events"]["bta"][n]["date"] = day
        late["department"] = "thoracic_surgery"
        late["identity"] = {"name": "李秀英", "phone": "138-0013-8000"}
        store.upsert_records([parse_record(late, today=AS_OF)], import_source="tests")
        app = create_app(Settings(database_url=url), today=lambda: AS_OF, store=store)
        with TestClient(app) as test_client:
            login(test_client, "nurse_a")
            yield test_client


def _keys(body: dict[str, object]) -> list[tuple[str, str]]:
    return [(i["rule"], i["patient"]) for i in body["items"]]  # type: ignore[attr-defined, index]


def test_empty_filters_are_no_filters_and_odd_ones_are_named(client: TestClient) -> None:
    plain = client.get("/api/worklist").json()
    empty = client.get(
        "/api/worklist",
        params={"due_within": "", "rule": "", "hospital": "", "kind": "", "include_undated": ""},
    )
    assert empty.status_code == 200  # was 422 (due_within="" is no integer, kind="" no kind)
    assert _keys(empty.json()) == _keys(plain) and "filter_problems" not in empty.json()
    odd = client.get("/api/worklist", params={"due_within": "abc", "kind": "urgent"})
    assert odd.status_code == 200
    problems = odd.json()["filter_problems"]
    assert [(p["path"], p["code"]) for p in problems] == [
        ("/query/kind", "UNKNOWN_KIND"),
        ("/query/due_within", "BAD_DAYS"),
    ]
    assert problems[1]["problem"] == "到期天数内“abc”：请填写 0–3650 的整数天数，或留空（不限）"
    assert _keys(odd.json()) == _keys(plain)  # listed without the unusable filters
    english = client.get("/api/worklist", params={"due_within": "abc", "lang": "en"}).json()
    assert english["filter_problems"][0]["problem"].startswith('Due within (days) "abc": write')
    wide = client.get("/api/worklist", params={"due_within": "３６５０"}).json()
    assert "filter_problems" not in wide  # full-width digits are digits


def test_codes_are_case_insensitive_and_an_unknown_hospital_says_so(client: TestClient) -> None:
    upper = _keys(client.get("/api/worklist", params={"hospital": "HA"}).json())
    assert upper and _keys(client.get("/api/worklist", params={"hospital": "ha"}).json()) == upper
    rules = {r for r, _p in _keys(client.get("/api/worklist", params={"rule": "adh"}).json())}
    assert rules and all(r.startswith("ADH-") for r in rules)
    kinds = client.get("/api/worklist", params={"kind": "ALERT"}).json()["items"]
    assert kinds and {i["kind"] for i in kinds} == {"alert"}
    unknown = client.get("/api/worklist", params={"hospital": "H99"})
    assert unknown.status_code == 200 and unknown.json()["items"] == []  # never everyone's
    [problem] = unknown.json()["filter_problems"]
    assert problem["code"] == "UNKNOWN_HOSPITAL"
    assert problem["problem"] == "医院“H99”：没有这家医院，或您未获授权；可选：HA"
    other = client.get("/api/worklist", params={"hospital": "hb"}).json()  # not granted
    assert other["items"] == [] and other["filter_problems"][0]["code"] == "UNKNOWN_HOSPITAL"
    for typed in ("thoracic_surgery", "胸外科", "Thoracic surgery", "THORACIC_SURGERY"):
        body = client.get("/api/worklist", params={"department": typed}).json()
        assert {p for _r, p in _keys(body)} == {"A-LATE"}, typed


def test_due_within_keeps_undated_items_when_asked(client: TestClient) -> None:
    every = client.get("/api/worklist", params={"kind": ["action", "alert", "data_needed"]})
    items = every.json()["items"]
    undated = [i for i in items if i["due"] is None]
    assert undated  # e.g. an alert due now
    dated = client.get(
        "/api/worklist", params={"kind": ["action", "alert", "data_needed"], "due_within": "3650"}
    ).json()["items"]
    assert all(i["due"] is not None for i in dated)
    kept = client.get(
        "/api/worklist",
        params={
            "kind": ["action", "alert", "data_needed"],
            "due_within": "3650",
            "include_undated": "true",
        },
    ).json()["items"]
    assert len(kept) == len(items)


def test_exports_speak_the_page_language_with_overdue_days_and_masked_names(
    client: TestClient,
) -> None:
    table = list(
        csv.reader(io.StringIO(client.get("/api/worklist/export.csv").content.decode("utf-8-sig")))
    )
    assert table[0][:7] == [
        "评估日期",
        "紧急程度",
        "截止日期",
        "逾期天数",
        "患者编号",
        "姓名",
        "电话",
    ]
    late = next(r for r in table[1:] if r[4] == "A-LATE" and r[10] == "ADH-02")
    assert late[3] == "11" and late[9] == "胸外科" and late[11] == "警示"
    assert (late[5], late[6]) == ("李**", "138****8000")
    assert "thoracic_surgery" not in "".join(late) and "=" not in late[14]
    shown = client.get("/api/worklist/export.xlsx", params={"identity": "true", "lang": "en"})
    sheet = load_workbook(io.BytesIO(shown.content)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][3] == "Days overdue" and rows[1][5] == "Name"
    late_x = next(r for r in rows[2:] if r[4] == "A-LATE" and r[10] == "ADH-02")
    assert (late_x[3], late_x[5], late_x[6]) == (11, "李秀英", "138-0013-8000")
    assert late_x[9] == "Thoracic surgery" and late_x[11] == "alert"
    assert late_x[13] == "zoledronic acid 11 days overdue; last 2026-09-24"


def test_saved_views_belong_to_their_user(client: TestClient, tmp_path: Path) -> None:
    page = client.get("/worklist").text
    assert 'id="save-view"' in page and "还没有保存的视图。" in page
    csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    saved = client.post(
        "/worklist/views",
        data={"csrf_token": csrf, "name": "我的注射", "query": "rule=ADH&due_within=7&as_of=x"},
        follow_redirects=True,
    )
    assert saved.status_code == 200 and "视图已保存。" in saved.text
    assert 'href="/worklist?rule=ADH&amp;due_within=7"' in saved.text  # the day is not kept
    nameless = client.post("/worklist/views", data={"csrf_token": csrf, "name": " ", "query": ""})
    assert "请填写视图名称" in nameless.text
    # another user sees none of it
    other = TestClient(client.app)
    login(other, "doc_a")
    assert "我的注射" not in other.get("/worklist").text
    view_id = saved.text.split('data-view="', 1)[1].split('"', 1)[0]
    gone = client.post(f"/worklist/views/{view_id}/delete", data={"csrf_token": csrf})
    assert "视图已删除。" in gone.text and "我的注射" not in gone.text
