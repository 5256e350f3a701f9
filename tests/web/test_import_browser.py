"""Issue 14 item 3 in a real browser: a county hospital's IT person's first import, in Chinese
and once in English — the import page, the template download, the HIS/LIS export uploaded
with its column mapping, the preview with the refused rows and their reasons, the import, and
the worklist with the imported patients. Screenshots go to ``tests/web/artifacts/``
(``import-*.zh.png``: the user guides' pictures)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from web.test_browser import ARTIFACTS, base_url, log_in, page  # noqa: F401 - fixtures

DATA = Path(__file__).resolve().parents[1] / "interop" / "data"
EXPORT = sorted((DATA / "county_his").iterdir())
MAPPING = DATA / "county_his.mapping.toml"


def _refusal(tab: Any, patient: str, code: str) -> str:
    row = tab.locator(f"table.refusals tr[data-patient='{patient}'][data-code='{code}']")
    assert row.count() == 1
    text: str = row.inner_text()
    return text


def _first_import(tab: Any, lang: str) -> dict[str, str]:
    """Walk the import: page, template download, upload + mapping, preview, import,
    worklist; return the texts seen at each step for the caller's language checks."""
    seen: dict[str, str] = {}
    tab.click("header nav a[href='/import']")
    tab.wait_for_url("**/import")
    seen["title"] = tab.locator("h1").inner_text()
    tab.screenshot(path=str(ARTIFACTS / f"import.{lang}.png"), full_page=True)

    with tab.expect_download() as download:
        tab.click("#download-templates-xlsx")
    saved = Path(download.value.path())
    seen["download"] = download.value.suggested_filename
    workbook = load_workbook(io.BytesIO(saved.read_bytes()), read_only=True)
    seen["sheets"] = ",".join(ws.title for ws in workbook.worksheets)

    tab.set_input_files("input[name=file]", [str(p) for p in EXPORT])
    tab.set_input_files("input[name=mapping_file]", str(MAPPING))
    tab.click("#import-form button[type=submit]")
    tab.wait_for_selector("#preview-title")
    seen["preview"] = tab.locator("#import-summary").inner_text()
    seen["sex"] = _refusal(tab, "ZY0003", "UNKNOWN_CODE")
    seen["drug"] = _refusal(tab, "ZY0006", "WRONG_PRODUCT")
    seen["stored"] = tab.locator("table.accepted tbody").inner_text()
    seen["lab"] = _refusal(tab, "ZY0009", "UNKNOWN_PATIENT")
    assert "staging" not in tab.locator("main").inner_text()  # no server path, any language
    tab.screenshot(path=str(ARTIFACTS / f"import-preview.{lang}.png"), full_page=True)

    tab.click("#import-confirm button[type=submit]")
    tab.wait_for_selector("#result-title")
    seen["result"] = tab.locator("#import-summary").inner_text()
    tab.screenshot(path=str(ARTIFACTS / f"import-result.{lang}.png"), full_page=True)

    tab.click("#to-worklist")
    tab.wait_for_url("**/worklist")
    seen["worklist"] = ",".join(
        sorted({tr.get_attribute("data-patient") for tr in tab.locator("tr[data-patient]").all()})
    )
    return seen


def test_county_it_first_import_in_chinese(page: Any) -> None:  # noqa: F811 - the fixture
    log_in(page, "admin")

    seen = _first_import(page, "zh")

    assert seen["title"] == "导入病历"
    assert seen["download"] == "bonepath-templates.xlsx" and ",patients 患者," in seen["sheets"]
    assert "将入库 2" in seen["preview"] and "将被拒绝 5" in seen["preview"]
    assert "尚未写入任何数据" in seen["preview"]
    assert seen["sex"].split("\t")[:5] == ["患者信息.csv", "—", "5", "性别", "ZY0003"]
    assert "“未知”不是性别 / sex的可用值，请改为可接受的值之一" in seen["sex"]
    assert seen["drug"].split("\t")[:4] == ["用药医嘱.xlsx", "医嘱", "5", "药品名称"]
    assert "普罗力（Prolia）为治疗骨质疏松的地舒单抗60 mg" in seen["drug"]
    assert "ZY0001" in seen["stored"] and "新增" in seen["stored"]
    assert "新导入 2" in seen["result"] and "已拒绝 5" in seen["result"]
    assert {"ZY0001", "ZY0005"} <= set(seen["worklist"].split(","))
    assert "ZY0003" not in seen["worklist"].split(",")


def test_county_it_first_import_in_english(page: Any) -> None:  # noqa: F811 - the fixture
    log_in(page, "admin")
    page.click("#lang-switch")
    page.wait_for_url("**/worklist")

    seen = _first_import(page, "en")

    assert seen["title"] == "Import records"
    assert seen["download"] == "bonepath-templates.xlsx"
    assert "Would be stored 2" in seen["preview"] and "Would be refused 5" in seen["preview"]
    assert seen["sex"].split("\t")[:5] == ["患者信息.csv", "—", "5", "性别", "ZY0003"]
    assert "'未知' is not a value of 性别 / sex; accepted: 男 / male, 女 / female" in seen["sex"]
    assert "(检验结果.csv:9)" in seen["lab"]
    assert "Prolia" in seen["drug"] and "osteoporosis" in seen["drug"]
    assert "Imported 2" in seen["result"] and "Refused 5" in seen["result"]
    assert {"ZY0001", "ZY0005"} <= set(seen["worklist"].split(","))
