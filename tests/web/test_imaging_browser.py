"""The bone-window review in a real browser (Debian's chromium via Playwright), in Chinese, with
a real Orthanc PACS holding the patient's CT: open the patient, show the images, scroll, switch
to the bone window, mark it read — SCR-05 closes."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from api.support import AS_OF
from bonepath.api.app import create_app
from bonepath.store.repository import open_store
from imaging.orthanc import Orthanc

from .imaging_support import CT_PATIENT, open_mdt_case, pacs_settings, pacs_with_ct, seed_imaging
from .test_browser import ARTIFACTS, _free_port, _need_chromium, log_in

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pacs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orthanc]:
    yield from pacs_with_ct(tmp_path_factory.mktemp("pacs"))


@pytest.fixture
def imaging_url(tmp_path: Path, pacs: Orthanc) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'browser.sqlite3'}"
    with open_store(url) as store:
        seed_imaging(store)
        open_mdt_case(store)  # key images go to it
        app = create_app(pacs_settings(url, pacs), today=lambda: AS_OF, store=store)
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
def tab(imaging_url: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    _need_chromium()
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"]
        )
        context = browser.new_context(
            base_url=imaging_url, viewport={"width": 1360, "height": 900}, locale="zh-CN"
        )
        page = context.new_page()
        yield page
        context.close()
        browser.close()


def _loaded(page: Any, window: str, view: str, index: int) -> None:
    page.wait_for_selector(
        f"#ct-image[data-loaded='yes'][data-window='{window}'][data-view='{view}'][data-index='{index}']",
        timeout=30_000,
    )


def test_clinician_reads_the_bone_window_and_scr05_closes(tab: Any) -> None:
    log_in(tab, "doc_a")
    tab.goto(f"/patients/his/{CT_PATIENT}")
    scr05 = tab.locator("article.finding[data-rule='SCR-05']")
    assert scr05.count() == 1
    assert "骨窗" in scr05.inner_text()
    row = tab.locator("tr.ct-item[data-item='2026-10-20/ct/0']")
    assert "未记录" in row.inner_text()

    row.get_by_role("button", name="显示影像").click()
    # the viewer opens in the mediastinal window, in the middle of the 20 slices
    _loaded(tab, "mediastinum", "axial", 10)
    status = tab.locator("#ct-status")
    assert status.inner_text() == "纵隔窗 WW 400 / WL 40 · 轴位 第11/20层"
    assert (
        tab.locator("#ct-evidence").inner_text()
        == "CT Body 3.0 · Br38f · 无骨算法重建；图像头中带有骨窗预设。"
    )
    review = tab.get_by_role("button", name="骨窗已阅")
    assert review.is_disabled()  # not before the bone window is on screen
    assert tab.locator("#ct-image").evaluate("img => img.naturalWidth") == 512

    # scroll: the arrow key and the mouse wheel move one slice
    tab.locator("#ct-image").hover()
    tab.mouse.wheel(0, 120)
    _loaded(tab, "mediastinum", "axial", 11)
    tab.locator("#ct-viewer").press("ArrowUp")
    tab.locator("#ct-viewer").press("ArrowUp")
    _loaded(tab, "mediastinum", "axial", 9)
    assert status.inner_text().endswith("轴位 第10/20层")

    tab.locator("button.ct-window", has_text="骨窗").click()
    _loaded(tab, "bone", "axial", 9)
    assert status.inner_text() == "骨窗 WW 2000 / WL 500 · 轴位 第10/20层"
    assert (
        tab.locator("button.ct-window[data-window='bone']").get_attribute("aria-pressed") == "true"
    )
    assert review.is_enabled()
    if _docs_shots():  # the user guide's picture: the bone window, axial, ready to be marked read
        tab.locator("#imaging").screenshot(path=str(DOCS_IMG / "imaging-viewer.zh.png"))

    # the sagittal spine reformat opens at the spine's midline
    tab.locator("button.ct-view", has_text="矢状位脊柱重建").click()
    tab.wait_for_selector("#ct-image[data-loaded='yes'][data-view='sagittal']", timeout=30_000)
    column = int(tab.locator("#ct-image").get_attribute("data-index"))
    assert 238 <= column <= 256
    assert re.fullmatch(r"骨窗 WW 2000 / WL 500 · 矢状位 第\d+/512列", status.inner_text())
    assert tab.locator("#ct-image").evaluate("img => img.naturalHeight") == 41
    tab.locator("#ct-viewer").screenshot(path=str(ARTIFACTS / "imaging-viewer.zh.png"))

    review.click()
    tab.wait_for_selector("#bone-window-saved")
    assert tab.locator("#bone-window-saved").inner_text() == "骨窗已标记为已阅。"
    assert tab.locator("article.finding[data-rule='SCR-05']").count() == 0
    state = tab.locator("tr.ct-item[data-item='2026-10-20/ct/0'] td.bone-window-state").inner_text()
    assert re.fullmatch(r"骨窗已阅: doc_a（临床医生）\d{4}-\d{2}-\d{2} \d{2}:\d{2}", state.strip())


DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
"""The user guides' screenshots are retaken with BONEPATH_DOCS_SCREENSHOTS=1 (else a test run
would leave the tracked PNGs changed)."""


def _docs_shots() -> bool:
    import os

    return os.environ.get("BONEPATH_DOCS_SCREENSHOTS") == "1" and DOCS_IMG.is_dir()


def test_the_aid_hints_jump_to_a_slice_and_a_key_image_goes_to_the_mdt_case(tab: Any) -> None:
    """辅助提示（未经验证）: the unvalidated heading, its accuracy, the candidates (or the honest
    "none"), a candidate's slice on screen; then 附加到MDT病例 and the image on the case page."""
    log_in(tab, "doc_a")
    tab.goto(f"/patients/his/{CT_PATIENT}")
    tab.locator("tr.ct-item[data-item='2026-10-20/ct/0']").get_by_role(
        "button", name="显示影像"
    ).click()
    _loaded(tab, "mediastinum", "axial", 10)
    tab.locator("button.ct-window", has_text="骨窗").click()
    _loaded(tab, "bone", "axial", 10)

    tab.get_by_role("button", name="辅助提示（未经验证）").click()
    result = tab.locator("#ct-aid-result")
    assert result.locator("#ct-aid-heading").inner_text() == "未经验证的辅助提示"
    tab.wait_for_selector("#ct-aid-result[data-state='done']", timeout=120_000)
    assert "从不确认或排除骨转移" in tab.locator("#ct-aid-never").inner_text()
    assert "骨骼分割Dice 0.815" in tab.locator("#ct-aid-accuracy").inner_text()
    rows = tab.locator("tr.ct-aid-row")
    status = tab.locator("#ct-aid-status").inner_text()
    if rows.count() == 0:
        assert status == "辅助提示在所搜索的骨骼中未发现候选病灶。"
    else:
        assert status == f"{rows.count()}个候选病灶；点击可跳转到其层面。"
        row = rows.nth(rows.count() - 1)
        slice_index = int(row.get_attribute("data-slice") or "-1")
        assert row.locator("td").nth(1).inner_text() in ("溶骨性", "成骨性")
        assert row.locator("td").nth(3).inner_text() == str(slice_index + 1)
        tab.wait_for_function(
            "r => r.querySelector('img').naturalWidth > 0", arg=row.element_handle(), timeout=30_000
        )
        row.click()
        _loaded(tab, "bone", "axial", slice_index)
        assert tab.locator("#ct-status").inner_text().endswith(f"轴位 第{slice_index + 1}/20层")
    tab.locator("#ct-viewer").screenshot(path=str(ARTIFACTS / "imaging-aid.zh.png"))
    if _docs_shots():
        tab.locator("#ct-viewer").screenshot(path=str(DOCS_IMG / "imaging-aid.zh.png"))

    shown = int(tab.locator("#ct-image").get_attribute("data-index") or "-1")
    tab.get_by_role("button", name="附加到MDT病例").click()
    tab.wait_for_selector("#key-image-attached")
    assert tab.locator("#key-image-attached").inner_text().startswith("关键图像已附加到MDT病例。")
    tab.get_by_role("link", name="打开MDT病例").click()
    attachment = tab.locator("#attachments details", has_text="CT关键图像")
    assert attachment.count() == 1
    title = attachment.locator("summary").inner_text()
    assert title.startswith(f"CT关键图像：轴位第{shown + 1}层（骨窗 WW 2000 / WL 500）")
    attachment.locator("summary").click()
    link = attachment.locator("a[href^='/imaging/image?']")
    assert f"index={shown}" in (link.get_attribute("href") or "")
    image = attachment.locator("img.attachment-image")
    tab.wait_for_function(
        "img => img.complete && img.naturalWidth === 512", arg=image.element_handle()
    )
    if _docs_shots():
        attachment.screenshot(path=str(DOCS_IMG / "mdt-key-image.zh.png"))
