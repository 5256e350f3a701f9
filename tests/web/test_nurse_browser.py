"""Issue 15 in a real browser: the nurse's day on the worklist, in Chinese and once in English.

Filter with the keyboard ("/" to the filters, lower-case codes), take the most overdue
injection (j, Enter), record the dose, close its follow-up task with an explicit outcome, see
the row leave the worklist, save the filters as a view, and export the list — the Excel file
is opened and its headers, days-overdue column and masked names read. One server for the
module (a small registry: the two-hospital test patients and two overdue injections with an
``identity``), chromium from /usr/bin/chromium; screenshots in ``tests/web/artifacts/``.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from openpyxl import load_workbook

from api.support import AS_OF, PASSWORD, due_patient, seed
from bonepath.api.app import create_app
from bonepath.cli.demo_cmd import demo_tasks
from bonepath.record.parse import parse_record
from bonepath.settings import Settings
from bonepath.store.repository import Store, open_store
from web.test_browser import ARTIFACTS, CHROMIUM, _need_chromium


def _late(pid: str, last: str, department: str, name: str, phone: str) -> dict[str, Any]:
    """Zoledronic acid every 28 days whose last dose was ``last``: overdue on AS_OF."""
    record = due_patient(pid)
    days = ["2026-07-02", "2026-07-30", "2026-08-27", last]
    for n, day in enumerate(days):
        record["events"]["bta"][n]["date"] = day
    record["department"] = department
    record["identity"] = {"name": name, "phone": phone}
    return record


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Store]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('nurse') / 'web.sqlite3'}"
    store = open_store(url)
    seed(store)
    late = [
        # 11 days overdue (due 2026-10-22): the zh walk's patient
        _late("A-LATE", "2026-09-24", "oncology", "李秀英", "138-0013-8000"),
        # 8 days overdue (due 2026-10-25), thoracic surgery: the en walk's patient
        _late("A-LATE-EN", "2026-09-27", "thoracic_surgery", "王芳", "139-0000-1234"),
    ]
    store.upsert_records([parse_record(r, today=AS_OF) for r in late], import_source="tests")
    assert demo_tasks(store, AS_OF) > 0
    app = create_app(Settings(database_url=url), today=lambda: AS_OF, store=store)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, access_log=False, log_level="warning")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", store
    uv.should_exit = True
    thread.join(timeout=10)
    store.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    _need_chromium()
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        yield launched
        launched.close()


def _tab(browser: Any, base_url: str) -> Any:
    context = browser.new_context(
        base_url=base_url, viewport={"width": 1360, "height": 900}, locale="zh-CN"
    )
    return context.new_page()


def _log_in(tab: Any, username: str) -> None:
    tab.goto("/login")
    tab.fill("input[name=username]", username)
    tab.fill("input[name=password]", PASSWORD)
    tab.click("button[type=submit]")
    tab.wait_for_url("**/worklist")


def _nurses_day(tab: Any, lang: str, department: str, patient: str, tmp: Path) -> dict[str, Any]:
    """Walk the day; return what was seen after each step."""
    seen: dict[str, Any] = {
        "title": tab.locator("h1").inner_text(),
        "keys": tab.locator("#keys").inner_text(),
    }
    # 1. filter from the keyboard: "/" focuses the rule field; a lower-case family is read
    tab.locator("body").press("/")
    assert tab.evaluate("document.activeElement.name") == "rule"
    tab.keyboard.type("adh")
    tab.select_option("select[name=department]", department)
    tab.locator("input[name=rule]").press("Enter")
    tab.wait_for_url("**/worklist?*rule=adh*")
    seen["rule_field"] = tab.locator("input[name=rule]").input_value()
    seen["rules"] = tab.locator("table.worklist tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.rule)"
    )
    seen["problems"] = tab.locator("#filter-problems").count()
    # 2. the most overdue item: j selects the first row, Enter opens its patient
    tab.locator("body").press("j")
    first = tab.locator("table.worklist tbody tr.current")
    seen["first_patient"] = first.get_attribute("data-patient")
    seen["first_row"] = first.inner_text()
    tab.screenshot(path=str(ARTIFACTS / f"nurse-worklist.{lang}.png"), full_page=False)
    tab.locator("body").press("Enter")
    tab.wait_for_url(f"**/patients/his/{patient}*")
    seen["patient_title"] = tab.locator("h1").inner_text()
    # 3. record the injection (today, zoledronic acid 4 mg IV, every 28 days)
    form = tab.locator("#form-bta form")
    form.locator("input[name=date]").fill(AS_OF.isoformat())
    form.locator("select[name=drug]").select_option("zoledronic_acid")
    form.locator("input[name=dose_mg]").fill("4")
    form.locator("select[name=route]").select_option("iv")
    form.locator("select[name=interval_days]").select_option("28")
    form.locator("button[type=submit]").click()
    tab.wait_for_selector("#saved")
    seen["saved"] = tab.locator("#saved").inner_text()
    # 4. close its follow-up task: the outcome must be chosen (none is pre-selected)
    task = tab.locator("details.task[data-rule='ADH-02']")
    seen["task_rule"] = task.get_attribute("data-rule")
    reason = task.locator("select[name=reason]")
    seen["preselected"] = reason.input_value()
    reason.select_option("done")
    task.locator("button[type=submit]").click()
    tab.wait_for_load_state()
    seen["still_missing"] = tab.locator("#still-missing").count()
    seen["tasks_left"] = tab.locator("details.task[data-rule='ADH-02']").count()
    # 5. back to the worklist: the injection has left it
    tab.goto("/worklist?rule=adh")
    seen["after"] = tab.locator("table.worklist tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.rule + ' ' + r.dataset.patient)"
    )
    # 6. save the filters as a view, open it from the list
    tab.locator("#save-view input[name=name]").fill("注射" if lang == "zh" else "Injections")
    tab.locator("#save-view button[type=submit]").click()
    tab.wait_for_selector("#view-message")
    seen["view_message"] = tab.locator("#view-message").inner_text()
    seen["views"] = tab.locator("#views").inner_text()
    # 7. export the list to Excel and read the file
    tab.goto("/worklist?rule=adh&due_within=30&undated=1")
    with tab.expect_download() as download:
        tab.click("#export-xlsx")
    saved = tmp / f"worklist.{lang}.xlsx"
    download.value.save_as(saved)
    sheet = load_workbook(io.BytesIO(saved.read_bytes())).worksheets[0]
    seen["xlsx"] = list(sheet.iter_rows(values_only=True))
    return seen


def test_nurses_day_in_chinese(browser: Any, server: tuple[str, Store], tmp_path: Path) -> None:
    base_url, store = server
    tab = _tab(browser, base_url)
    _log_in(tab, "nurse_a")
    seen = _nurses_day(tab, "zh", "oncology", "A-LATE", tmp_path)
    assert seen["title"].startswith("工作清单")
    assert seen["keys"] == "键盘：/ 筛选 · j/k 上下移动 · Enter 打开患者 · e 导出 Excel"
    assert seen["rule_field"] == "ADH" and seen["problems"] == 0
    assert seen["rules"] and all(r.startswith("ADH-") for r in seen["rules"])
    # the most overdue injection first, said in words, with who to call
    assert seen["first_patient"] == "A-LATE"
    assert "唑来膦酸 逾期 11 天；上次 2026-09-24" in seen["first_row"]
    assert "李秀英" in seen["first_row"] and "☎ 138-0013-8000" in seen["first_row"]
    assert "A-LATE" in seen["patient_title"]
    assert seen["saved"] == "已保存。"
    assert seen["task_rule"] == "ADH-02" and seen["preselected"] == ""
    assert seen["still_missing"] == 0 and seen["tasks_left"] == 0
    assert "ADH-02 A-LATE" not in seen["after"] and "ADH-02 A-LATE-EN" in seen["after"]
    assert seen["view_message"] == "视图已保存。" and "注射" in seen["views"]
    rows = seen["xlsx"]
    assert rows[0][0].startswith("工作清单 · 评估日期 2026-11-02")
    assert rows[1][:7] == (
        "评估日期",
        "紧急程度",
        "截止日期",
        "逾期天数",
        "患者编号",
        "姓名",
        "电话",
    )
    assert rows[1][9] == "科室" and rows[1][13] == "原因" and rows[1][14] == "数值"
    late = next(r for r in rows[2:] if r[4] == "A-LATE-EN" and r[10] == "ADH-02")
    assert late[3] == 8  # days overdue, a number
    assert (late[5], late[6]) == ("王*", "139****1234")  # masked unless asked for
    assert (late[9], late[10], late[11]) == ("胸外科", "ADH-02", "警示")
    assert late[13] == "唑来膦酸 逾期 8 天；上次 2026-09-27"
    assert "逾期 8天" in late[14]
    assert not any(r[4] == "A-LATE" and r[10] == "ADH-02" for r in rows[2:])


def test_nurses_day_in_english(browser: Any, server: tuple[str, Store], tmp_path: Path) -> None:
    base_url, _store = server
    tab = _tab(browser, base_url)
    _log_in(tab, "nurse_a")
    tab.click("#lang-switch")
    tab.wait_for_url("**/worklist")
    seen = _nurses_day(tab, "en", "thoracic_surgery", "A-LATE-EN", tmp_path)
    assert seen["title"].startswith("Worklist")
    assert seen["keys"].startswith("Keys: / filter · j/k move")
    assert seen["first_patient"] == "A-LATE-EN"
    assert "zoledronic acid 8 days overdue; last 2026-09-27" in seen["first_row"]
    assert "王芳" in seen["first_row"] and "☎ 139-0000-1234" in seen["first_row"]
    assert seen["saved"] == "Saved."
    assert seen["preselected"] == "" and seen["still_missing"] == 0
    assert "ADH-02 A-LATE-EN" not in seen["after"]
    assert seen["view_message"] == "View saved." and "Injections" in seen["views"]
    headers = seen["xlsx"][1]
    assert headers[:4] == ("As of", "Severity", "Due", "Days overdue")
    assert headers[9] == "Department" and headers[13] == "Why"
