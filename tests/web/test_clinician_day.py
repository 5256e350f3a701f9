"""The clinician's day in a real browser, in Chinese (issue 15, "Done when"): answer each kind
of data-needed item through its form (the finding leaves or changes), record a dose the
checks stop and one they pass, correct an entry and void one — the page content asserted
after each step. Chromium and the app as in ``test_browser.py``; the patient is
``web.clinician_support.gaps_patient`` (clock pinned to 2026-11-02)."""

from __future__ import annotations

from typing import Any

import pytest

from bonepath.store.repository import Store
from web.clinician_support import GAPS_ID, add_gaps_patient
from web.test_browser import ARTIFACTS, base_url, log_in, page  # noqa: F401 - fixtures

PATIENT = f"/patients/his/{GAPS_ID}"


@pytest.fixture
def gaps(store: Store) -> None:
    add_gaps_patient(store)


def _finding(tab: Any, rule: str) -> Any:
    return tab.locator(f"article.finding[data-rule='{rule}']")


def _answer(tab: Any, rule: str, form: str) -> Any:
    """Follow the finding's link to its form; the form is open."""
    _finding(tab, rule).locator("a.answer").first.click()
    tab.wait_for_url(f"**form={form}*")
    details = tab.locator(f"#form-{form}")
    assert details.get_attribute("open") is not None
    return details.locator("form")


def _saved(tab: Any) -> None:
    tab.wait_for_url("**saved=*")
    assert tab.locator("#saved").inner_text() == "已保存。"


def test_clinician_answers_every_data_needed_item_doses_and_corrects(
    gaps: None,
    page: Any,  # noqa: F811 - the fixture
) -> None:
    log_in(page, "doc_a")
    page.goto(PATIENT)
    for rule in ("PAIN-01", "SAFE-06", "SCORE-CG", "SURG-01", "SURG-02", "SURG-03"):
        assert _finding(page, rule).count() == 1, rule
    surg01 = _finding(page, "SURG-01").inner_text()
    assert "骨皮质受累（%）" in surg01 and "missing" not in surg01
    safe06 = _finding(page, "SAFE-06").inner_text()
    assert "建议每日钙" in safe06 and "≥500 mg" in safe06 and "calcium_mg_daily" not in safe06
    citation = _finding(page, "SAFE-06").locator("details.citation").first
    assert citation.locator("summary").inner_text() == "《指南解读》表2"
    citation.locator("summary").click()
    assert citation.locator("blockquote").inner_text() == "每日补充钙剂及维生素D"

    # PAIN-01: the pain score (NRS 5, femur)
    form = _answer(page, "PAIN-01", "pain")
    assert form.locator("input[name=date]").input_value() == "2026-11-02"
    form.locator("select[name=bone_pain]").select_option("5")
    form.locator("select[name=pain_sites]").select_option(["femur"])
    form.locator("select[name=mechanical_pain]").select_option("no")
    form.locator("select[name=frankel]").select_option("E")
    form.locator("button[type=submit]").click()
    _saved(page)
    assert _finding(page, "PAIN-01").count() == 0
    assert "骨痛评分（NRS） 5/10" in _finding(page, "PAIN-03").inner_text().replace("\n", " ")

    # SAFE-06: supplements
    form = _answer(page, "SAFE-06", "supplements")
    form.locator("input[name=calcium_mg_daily]").fill("600")
    form.locator("input[name=vitamin_d_iu_daily]").fill("800")
    form.locator("button[type=submit]").click()
    _saved(page)
    assert _finding(page, "SAFE-06").count() == 0

    # SCORE-CG: the weight; "68,5" is refused next to the field, what was typed stays
    form = _answer(page, "SCORE-CG", "vitals")
    form.locator("input[name=weight_kg]").fill("68,5")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    weight = page.locator("#form-vitals label[data-field=weight_kg]")
    assert "取值有歧义" in weight.locator(".field-error").inner_text()
    assert weight.locator("input").input_value() == "68,5"
    weight.locator("input").fill("68.5")
    page.locator("#form-vitals button[type=submit]").click()
    _saved(page)
    score = _finding(page, "SCORE-CG").inner_text()
    assert "需补录" not in score and "mL/min" in score

    # SURG-01: the femur lesion's cortical involvement, pre-filled with what is known
    form = _answer(page, "SURG-01", "lesion")
    assert form.locator("select[name=site]").input_value() == "femur"
    assert form.locator("select[name=kind]").input_value() == "lytic"
    form.locator("input[name=cortical_involvement_pct]").fill("70")
    form.locator("button[type=submit]").click()
    _saved(page)
    surg01 = _finding(page, "SURG-01").inner_text()
    assert "需补录" not in surg01 and "Mirels总分\n10" in surg01

    # SURG-02: the spine lesion's level, alignment, collapse, posterolateral involvement
    form = _answer(page, "SURG-02", "lesion")
    assert form.locator("select[name=site]").input_value() == "thoracic_spine"
    form.locator("select[name=level]").select_option("T7")
    form.locator("select[name=alignment]").select_option("normal")
    form.locator("select[name=collapse]").select_option("lt50")
    form.locator("select[name=posterolateral]").select_option("unilateral")
    form.locator("button[type=submit]").click()
    _saved(page)
    assert "需补录" not in _finding(page, "SURG-02").inner_text()

    # SURG-03: KPS (performance status), then the visceral metastases
    assert "KPS评分" in _finding(page, "SURG-03").inner_text()
    form = _answer(page, "SURG-03", "performance")
    form.locator("select[name=kps]").select_option("80")
    form.locator("button[type=submit]").click()
    _saved(page)
    form = _answer(page, "SURG-03", "cancer")
    form.locator("select[name=visceral_metastasis]").select_option("none")
    form.locator("button[type=submit]").click()
    _saved(page)
    surg03 = _finding(page, "SURG-03").inner_text()
    assert "需补录" not in surg03 and "预后" in surg03
    page.goto(f"{PATIENT}?form=lesion&lesion=1#form-lesion")
    page.locator("section.record").screenshot(path=str(ARTIFACTS / "patient-forms.zh.png"))

    # a dose the checks stop: the same drug twice on one day (refused, no override)
    page.goto(PATIENT)
    dose = page.locator("#form-bta form")
    dose.locator("input[name=date]").fill("2026-10-08")
    dose.locator("select[name=drug]").select_option("zoledronic_acid")
    dose.locator("input[name=dose_mg]").fill("4")
    dose.locator("select[name=route]").select_option("iv")
    dose.locator("button[type=submit]").click()
    page.wait_for_load_state()
    problems = page.locator("#problems").inner_text()
    assert "同一天已记录过该药物的一次给药" in problems and "DUPLICATE_DOSE" in problems
    # …and a second agent within 28 days: BTA-08 warns before saving, in Chinese
    dose = page.locator("#form-bta form")
    dose.locator("input[name=date]").fill("2026-11-02")
    dose.locator("select[name=drug]").select_option("denosumab")
    dose.locator("input[name=dose_mg]").fill("120")
    dose.locator("select[name=route]").select_option("sc")
    dose.locator("button[type=submit]").click()
    page.wait_for_load_state()
    warning = page.locator("#dose-warning").inner_text()
    assert "安全警示" in warning and "BTA-08" in warning
    assert "denosumab" not in warning  # drugs in words
    # a dose the checks pass: zoledronic acid 4 mg IV, due on 2026-11-05
    page.goto(PATIENT)
    assert _finding(page, "ADH-01").count() == 1
    dose = page.locator("#form-bta form")
    dose.locator("select[name=drug]").select_option("zoledronic_acid")
    dose.locator("input[name=dose_mg]").fill("4")
    dose.locator("select[name=route]").select_option("iv")
    dose.locator("button[type=submit]").click()
    _saved(page)
    assert _finding(page, "ADH-01").count() == 0
    assert page.locator("#entries tr[data-family=bta]").count() == 3

    # correct an entry: the supplement typed as 600 mg was 1,000 mg
    page.locator("#entries tr[data-family=supplements] a.edit-entry").click()
    page.wait_for_url("**edit=supplements*")
    edit = page.locator("#form-edit form")
    assert edit.locator("input[name=calcium_mg_daily]").input_value() == "600"
    edit.locator("input[name=calcium_mg_daily]").fill("1,000")
    edit.locator("button[value=correct]").click()
    page.wait_for_load_state()
    assert "请填写更正或作废的原因" in page.locator("#form-edit").inner_text()
    page.locator("#form-edit input[name=reason]").fill("录入错误：处方为每日1000 mg")
    page.locator("#form-edit button[value=correct]").click()
    page.wait_for_url("**saved=corrected*")
    history = page.locator("#history").inner_text()
    assert "每日钙 600 mg" in history and "每日钙 1000 mg" in history
    assert "录入错误：处方为每日1000 mg" in history and "doc_a" in history

    # void an entry: the imported dental examination belonged to another patient
    page.locator("#entries tr[data-family=dental] a.edit-entry").click()
    page.wait_for_url("**edit=dental*")
    page.locator("#form-edit input[name=reason]").fill("另一位患者的口腔检查")
    page.locator("#form-edit button[value=void]").click()
    page.wait_for_url("**saved=voided*")
    assert page.locator("#entries tr[data-family=dental]").count() == 0
    history = page.locator("#history").inner_text()
    assert "已作废" in history and "另一位患者的口腔检查" in history
    # SAFE-09 (dental check on an active course) now asks, and links to the dental form
    page.locator("#history").screenshot(path=str(ARTIFACTS / "patient-history.zh.png"))
