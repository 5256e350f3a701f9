"""The MDT in a real browser, in Chinese (issue 16 "Done when"): MDT-01 on the worklist → a
case in one click → a meeting with its quorum shown before and recorded after → a decision
(first refused for a confirmation dated in the future, nothing written) → tasks on the owners'
worklists → MDT-01 closes and BTA-01 appears. Debian's chromium via Playwright; the app's clock
is pinned to the referral day, the meeting is held that day."""

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

from bonepath.api.app import create_app
from bonepath.settings import Settings
from bonepath.store import accounts
from bonepath.store.repository import Store, open_store

from .support import REFERRAL_DAY, SUSPECTED, UNSTABLE, record

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.slow  # a browser walk (≈ 50 s on 2 busy cores)
ARTIFACTS = Path(__file__).resolve().parents[1] / "web" / "artifacts"
PASSWORD = "correct horse battery"
USERS = {
    "coord": ("mdt_coordinator", ["H1"]),
    "doc1": ("clinician", ["H1"]),
    "nurse1": ("nurse", ["H1"]),
}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(f"sqlite:///{tmp_path / 'mdt.sqlite3'}") as opened:
        opened.upsert_records([record(SUSPECTED), record(UNSTABLE)], import_source="tests")
        for name, (role, hospitals) in USERS.items():
            accounts.create_user(opened.engine, name, PASSWORD, role, hospitals)
        yield opened


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def base_url(store: Store, tmp_path: Path) -> Iterator[str]:
    app = create_app(
        Settings(database_url=f"sqlite:///{tmp_path / 'mdt.sqlite3'}"),
        today=lambda: REFERRAL_DAY,
        store=store,
    )
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

    if not CHROMIUM.exists():
        message = "needs /usr/bin/chromium (apt-get install chromium fonts-noto-cjk)"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI is set: browser tests must run)")
        pytest.skip(message)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        context = browser.new_context(
            base_url=base_url, viewport={"width": 1360, "height": 900}, locale="zh-CN"
        )
        yield context.new_page()
        context.close()
        browser.close()


def log_in(page: Any, username: str) -> None:
    page.goto("/login?next=/worklist")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url("**/worklist")


def log_out(page: Any) -> None:
    page.click("form[action='/logout'] button")
    page.wait_for_url("**/login*")


def test_mdt01_to_a_decision_that_confirms_bone_metastasis_in_chinese(page: Any) -> None:
    today = REFERRAL_DAY.isoformat()
    log_in(page, "coord")
    row = page.locator("tr[data-rule='MDT-01'][data-patient='MDT-SUSP']")
    assert "提交骨转移MDT讨论" in row.inner_text()
    assert page.locator("tr[data-rule='BTA-01'][data-patient='MDT-SUSP']").count() == 0

    # one click: the case, with the finding's trigger and the summary frozen today
    row.locator("button.mdt-submit-button").click()
    page.wait_for_url("**/mdt/cases/*")
    assert page.locator("h1").inner_text().endswith("· 待安排")
    assert page.locator("#created").inner_text() == "病例已提交MDT。"
    triggers = page.locator("#triggers").inner_text()
    assert "DX-04 孤立可疑病灶需活检" in triggers and "2026-10-16" in triggers
    assert "已逾期" in triggers  # due 14 days after the CT of 2026-10-02
    assert "0.8 mg/dL (2026-10-06)" in page.locator("#renal").inner_text()
    assert "72.9 mL/min" in page.locator("#renal").inner_text()
    imaging = page.locator("#imaging").inner_text()
    assert "已阅骨窗" in imaging and "可疑" in imaging
    mdt01 = page.locator("#case-findings article[data-rule='MDT-01']")
    assert "《白皮书》" in mdt01.locator(".sources").inner_text()
    assert page.locator("#no-meeting").count() == 1
    case_url = page.url.split("?")[0]
    page.goto("/worklist")  # the row now links the case instead of offering a second one
    link = page.locator("tr[data-rule='MDT-01'][data-patient='MDT-SUSP'] a.mdt-case-link")
    assert link.inner_text().endswith("· 待安排")
    assert link.locator("xpath=..").locator("button.mdt-submit-button").count() == 0
    link.click()
    page.wait_for_url(f"{case_url}*")

    # a meeting today; nuclear medicine is not planned: the quorum shows what is missing
    page.click("#mdt-nav a[href='/mdt/calendar']")
    form = page.locator("#meeting-form")
    form.locator("input[name=title]").fill("骨转移MDT")
    form.locator("input[name=date]").fill(today)
    form.locator("input[name=submission_deadline]").fill(today)
    form.locator("input[name=chair]").fill("doc1")
    form.locator("input[name=recorder]").fill("coord")
    form.locator("input[name=specialty][value=radiology]").check()
    form.locator("input[name=name_radiology]").fill("rad1")  # a guest, by name
    form.locator("input[name=specialty][value=oncology]").check()
    form.locator("select[name=user_oncology]").select_option("doc1")  # an account
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/mdt/meetings/*")
    assert "骨转移MDT" in page.locator("h1").inner_text()
    assert page.locator("#agenda").inner_text().count("议程上暂无病例") == 1
    agenda_url = page.url

    page.goto(case_url)
    page.locator("#schedule-form button[type=submit]").click()
    page.wait_for_url("**/mdt/cases/*")
    assert page.locator("#case-state").inner_text() == "已排会"
    planned = page.locator("#quorum-planned").inner_text()
    assert "缺少 核医学科" in planned and "需要 放射科、核医学科、肿瘤科" in planned

    page.goto(agenda_url)
    quorum = page.locator("#agenda td.quorum")
    assert quorum.get_attribute("data-met") == "no"
    assert "法定人数不足：缺少 核医学科" in quorum.inner_text()
    attendance = page.locator("#attendance-form")
    attendance.locator("input[name=specialty][value=nuclear_medicine]").check()
    attendance.locator("input[name=name_nuclear_medicine]").fill("nm1")
    attendance.locator("button[type=submit]").click()
    page.wait_for_url("**/mdt/meetings/*")
    assert page.locator("#meeting-state").inner_text() == "已召开"
    assert page.locator("#agenda td.quorum").get_attribute("data-met") == "yes"
    assert "法定人数已满足" in page.locator("#agenda").inner_text()
    assert "已讨论" in page.locator("#agenda").inner_text()
    assert "核医学科 (nm1)" in page.locator("#attended").inner_text()

    # the decision: a confirmation dated in the future is refused, nothing written
    page.goto(case_url)
    assert "会上记录的法定人数：已满足" in page.locator("#quorum-recorded").inner_text()
    decision = page.locator("#decision-form")
    decision.locator("input[name=decision][value=bm_confirmed]").check()
    decision.locator("input[name=decision][value=bta_start]").check()
    decision.locator("select[name=drug]").select_option("zoledronic_acid")
    decision.locator("input[name=confirmed_date]").fill("2026-12-01")
    decision.locator("textarea[name=rationale]").fill("骨扫描阳性、CT骨窗可疑，会诊确诊骨转移")
    decision.locator("button[type=submit]").click()
    page.wait_for_selector("#problems")
    problems = page.locator("#problems").inner_text()
    assert "未保存" in problems and "日期晚于今天" in problems
    assert "/bone_metastasis/confirmed_date" in problems
    assert page.locator("#case-state").inner_text() == "已讨论"
    assert page.locator("#case-tasks").count() == 0
    page.screenshot(path=str(ARTIFACTS / "mdt_refused.zh.png"), full_page=True)

    decision = page.locator("#decision-form")  # the form keeps what was typed
    assert decision.locator("input[name=decision][value=bm_confirmed]").is_checked()
    decision.locator("input[name=confirmed_date]").fill("")
    decision.locator("button[type=submit]").click()
    page.wait_for_url("**/mdt/cases/*?done=decision")
    assert page.locator("#case-state").inner_text() == "已决定"
    decided = page.locator("#decision-list").inner_text()
    assert "骨转移确诊" in decided and "唑来膦酸" in decided
    tasks = page.locator("#case-tasks")
    dental = tasks.locator("tr[data-task='dental_check']")
    assert "首剂骨改良药物前安排口腔检查" in dental.inner_text()
    assert "护士" in dental.inner_text() and "2026-10-28" in dental.inner_text()
    assert tasks.locator("tr[data-owner='clinician']").count() == 2
    assert page.locator("#case-opinion").inner_text() == "会诊意见（可打印）"
    page.screenshot(path=str(ARTIFACTS / "mdt_case.zh.png"), full_page=True)
    log_out(page)

    # the nurse's worklist: her tasks; MDT-01 has closed and BTA-01 has appeared
    log_in(page, "nurse1")
    mine = page.locator("#mdt-worklist").inner_text()
    assert "首剂骨改良药物前安排口腔检查" in mine and "指导每日补充钙剂及维生素D" in mine
    assert "开具骨改良药物首剂" not in mine  # the clinician's
    assert page.locator("tr[data-rule='MDT-01'][data-patient='MDT-SUSP']").count() == 0
    bta01 = page.locator("tr[data-rule='BTA-01'][data-patient='MDT-SUSP']")
    assert "确诊骨转移：立即启动骨改良药物" in bta01.inner_text()
    page.screenshot(path=str(ARTIFACTS / "mdt_worklist.zh.png"), full_page=True)
    bta01.locator("a.patient").click()
    page.wait_for_url("**/patients/test/MDT-SUSP*")
    assert page.locator("article.finding[data-rule='BTA-01']").count() == 1
    assert page.locator("article.finding[data-rule='MDT-01']").count() == 0
    log_out(page)

    # the clinician's worklist has the clinician's two tasks
    log_in(page, "doc1")
    clinician = page.locator("#mdt-worklist").inner_text()
    assert "开具骨改良药物首剂" in clinician and "首剂骨改良药物前安排口腔检查" not in clinician
