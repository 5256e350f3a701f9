"""The real application in a real browser: Debian's chromium driven by Playwright.

uvicorn serves the app (SQLite store seeded with the two-hospital registry and 20 seeded
synthetic patients, clock pinned to 2026-11-02) on a free port in a thread; chromium runs
headless with ``--no-sandbox`` from ``/usr/bin/chromium`` (no browser download). Screenshots
of the main pages go to ``tests/web/artifacts/`` (the user guide's pictures come from here).
Skipped when chromium is not installed (``scripts/test`` installs it), failed when ``CI`` is set.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from api.support import AS_OF, PASSWORD
from bonepath.api.app import create_app
from bonepath.settings import Settings
from bonepath.store.repository import Store

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).with_name("artifacts")


def _need_chromium() -> None:
    if not CHROMIUM.exists():
        message = "needs /usr/bin/chromium (apt-get install chromium fonts-noto-cjk)"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI is set: browser tests must run)")
        pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def base_url(store: Store, sqlite_url: str) -> Iterator[str]:
    app = create_app(Settings(database_url=sqlite_url), today=lambda: AS_OF, store=store)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, access_log=False, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def page(base_url: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    _need_chromium()
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        context = browser.new_context(
            base_url=base_url, viewport={"width": 1360, "height": 900}, locale="zh-CN"
        )
        tab = context.new_page()
        yield tab
        context.close()
        browser.close()


def log_in(page: Any, username: str) -> None:
    page.goto("/worklist")
    assert page.url.endswith("/login?next=/worklist")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url("**/worklist")


def test_nurse_records_the_due_dose_and_the_reminder_leaves_the_worklist(page: Any) -> None:
    page.goto("/login")
    page.screenshot(path=str(ARTIFACTS / "login.zh.png"))
    log_in(page, "nurse_a")
    reminder = page.locator("tr[data-rule='ADH-01'][data-patient='A-DUE']")
    assert reminder.count() == 1
    assert "骨改良药物即将到期" in reminder.inner_text()
    page.screenshot(path=str(ARTIFACTS / "worklist.zh.png"), full_page=True)

    reminder.locator("a").click()
    page.wait_for_url("**/patients/his/A-DUE*")
    assert page.locator("h1").inner_text().startswith("患者 A-DUE")
    assert page.locator("article.finding[data-rule='ADH-01']").count() == 1
    assert page.locator("svg.chart").count() >= 3  # doses, creatinine, CrCl, calcium, ALP
    page.screenshot(path=str(ARTIFACTS / "patient.zh.png"), full_page=True)

    form = page.locator("#form-bta form")
    assert form.locator("input[name=date]").input_value() == AS_OF.isoformat()
    assert form.locator("select[name=drug]").input_value() == "zoledronic_acid"  # the plan
    form.locator("input[name=dose_mg]").fill("4")
    form.locator("select[name=route]").select_option("iv")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#saved")
    assert page.locator("#saved").inner_text() == "已保存。"
    assert page.locator("article.finding[data-rule='ADH-01']").count() == 0
    assert "唑来膦酸 4 mg IV" in page.locator("section.timeline").inner_text()

    page.click("header nav a[href='/worklist']")
    page.wait_for_url("**/worklist")
    assert page.locator("tr[data-rule='ADH-01'][data-patient='A-DUE']").count() == 0
    assert page.locator("tr[data-rule='ADH-01'][data-patient='A-RENAL']").count() == 1


def test_language_switch_turns_every_page_text_to_english_and_back(page: Any) -> None:
    log_in(page, "doc_a")
    assert page.locator("h1").inner_text() == "工作清单 · 2026-11-02"
    page.click("#lang-switch")
    page.wait_for_url("**/worklist")
    assert page.locator("h1").inner_text() == "Worklist · 2026-11-02"
    assert page.locator("header nav").inner_text().split() == [
        *("Worklist", "Patients", "MDT", "Import"),
        *("Regional", "MDT", "network"),
    ]
    row = page.locator("tr[data-rule='ADH-01'][data-patient='A-DUE']")
    assert "Bone-targeted agent due (3-day reminder)" in row.inner_text()
    page.screenshot(path=str(ARTIFACTS / "worklist.en.png"), full_page=True)
    row.locator("a").click()
    page.wait_for_url("**/patients/his/A-DUE*")
    assert "Current findings" in page.locator("section.findings h2").inner_text()
    page.screenshot(path=str(ARTIFACTS / "patient.en.png"), full_page=True)
    page.click("#lang-switch")
    page.wait_for_url("**/patients/his/A-DUE*")
    assert page.locator("section.findings h2").inner_text() == "当前提示"


def test_unsafe_dose_shows_the_renal_warning_before_anything_is_saved(
    page: Any, store: Store
) -> None:
    log_in(page, "doc_a")
    page.goto("/patients/his/A-RENAL")
    form = page.locator("#form-bta form")
    form.locator("input[name=dose_mg]").fill("4")
    form.locator("button[type=submit]").click()
    warning = page.locator("#dose-warning")
    warning.wait_for()
    text = warning.inner_text()
    assert "安全警示：本次给药尚未保存" in text
    assert "BTA-09" in text and "建议剂量：3.3 mg" in text
    page.screenshot(path=str(ARTIFACTS / "dose-warning.zh.png"), full_page=True)
    record = store.get_record("his", "A-RENAL")
    assert record is not None and len(record.events.bta) == 4
    # saving needs the override reason: the browser refuses the empty required field
    page.locator("#form-bta form textarea[name=override_reason]").fill("MDT 2026-11-01")
    page.locator("#form-bta form button[type=submit]").click()
    page.wait_for_selector("#saved")
    record = store.get_record("his", "A-RENAL")
    assert record is not None and record.events.bta[-1].dose_mg == 4.0


def test_admin_pages_import_and_audit(page: Any, tmp_path: Path) -> None:
    import orjson

    from api.support import due_patient

    log_in(page, "admin")
    upload = tmp_path / "records.ndjson"
    bad = due_patient("A-BAD")
    bad["events"]["labs"][0]["unit"] = "mg/L"
    upload.write_bytes(orjson.dumps(due_patient("A-NEW")) + b"\n" + orjson.dumps(bad) + b"\n")
    page.click("header nav a[href='/import']")
    page.set_input_files("input[name=file]", str(upload))
    # preview first (nothing written), then import exactly the previewed file (issue 14)
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#preview-title")
    assert "/events/labs/0/unit" in page.locator("table.refusals").inner_text()
    page.click("#import-confirm button[type=submit]")
    page.wait_for_selector("#result-title")
    summary = page.locator("#import-summary")
    assert "新导入 1" in summary.inner_text() and "已拒绝 1" in summary.inner_text()
    assert "/events/labs/0/unit" in page.locator("table.refusals").inner_text()
    page.screenshot(path=str(ARTIFACTS / "import.zh.png"), full_page=True)
    page.click("header nav a[href='/admin/audit']")
    page.wait_for_url("**/admin/audit")
    first = page.locator("table.audit tbody tr").first.inner_text()
    assert "patient.import" in first or "audit.read" in first
    page.screenshot(path=str(ARTIFACTS / "audit.zh.png"), full_page=True)
