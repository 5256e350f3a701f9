"""Issue 16 item 4 in a real browser, in Chinese: a county hospital refers a case to the
regional centre, the centre answers, the county accepts the answer into its record.

The county patient carries identifiers in its free text (mdt_network.test_network); the
centre's pages never show them. Screenshots go to ``tests/web/artifacts/`` (``network-*.png``:
the user guides' pictures)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bonepath.record.parse import parse_record
from bonepath.store import accounts, network
from bonepath.store.hospitals import save_hospital
from bonepath.store.repository import Store, open_store
from mdt_network.test_network import AS_OF, NAME, PASSWORD, PATIENT_ID, leaks, planted_record
from web.test_browser import ARTIFACTS, base_url, page  # noqa: F401 - fixtures


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Store]:
    with open_store(sqlite_url) as opened:
        opened.upsert_records([parse_record(planted_record(), today=AS_OF)], import_source="t")
        save_hospital(opened.engine, "R0", "省肿瘤医院", city_tier="tier1-2", type="cancer")
        save_hospital(opened.engine, "C1", "甲县人民医院", city_tier="tier3-4")
        network.save_network(opened.engine, "N1", "省骨转移MDT网络", "R0")
        network.add_member(opened.engine, "N1", "C1")
        accounts.create_user(opened.engine, "county", PASSWORD, "clinician", ["C1"])
        accounts.create_user(opened.engine, "centre", PASSWORD, "clinician", ["R0"])
        yield opened


def _log_in(tab: Any, username: str) -> None:
    tab.goto("/login")
    tab.fill("input[name=username]", username)
    tab.fill("input[name=password]", PASSWORD)
    tab.click("form[action='/login'] button[type=submit]")
    tab.wait_for_url("**/worklist")


def _log_out(tab: Any) -> None:
    tab.click("header form[action='/logout'] button")
    tab.wait_for_url("**/login*")


def test_county_refers_centre_answers_county_accepts_in_chinese(
    page: Any,  # noqa: F811 - the fixture
    store: Store,
) -> None:
    # the county physician: MDT-02 on the patient page offers the referral
    _log_in(page, "county")
    page.goto(f"/patients/his/{PATIENT_ID}")
    assert page.locator("article.finding[data-rule='MDT-02']").count() == 1
    page.click("#refer-link a")
    page.wait_for_url(f"**/mdt/network/refer/his/{PATIENT_ID}")
    assert page.locator("h1").inner_text() == "转诊至区域会诊中心"
    assert "省肿瘤医院" in page.locator("#refer-centre").inner_text()
    preview = page.locator("#package-preview").inner_text()  # in words, not JSON (2026-12)
    assert leaks(preview) == [] and "76 岁" in preview and '"age"' not in preview
    page.select_option("#refer-question", "diagnosis")
    page.fill("#refer-text", "腰椎L2病灶性质不明，是否骨转移？是否需要活检？")
    page.screenshot(path=str(ARTIFACTS / "network-refer.zh.png"), full_page=True)
    page.click("#refer-submit")
    page.wait_for_url("**/mdt/network/referrals/RC-*?saved=sent")
    assert page.locator("#saved").inner_text() == "转诊已发送至会诊中心。"
    assert page.locator("#referral-state").inner_text() == "等待会诊中心答复"
    code = page.locator("#case-code").inner_text()
    _log_out(page)

    # the centre: only the referral, under its case number, de-identified
    _log_in(page, "centre")
    page.click("header nav a[href='/mdt/network']")
    page.wait_for_url("**/mdt/network")
    assert page.locator("h1").inner_text() == "区域MDT协作网络"
    row = page.locator(f"#received-table tr[data-code='{code}']")
    assert "甲县人民医院" in row.inner_text() and "等待会诊中心答复" in row.inner_text()
    row.locator("a").click()
    page.wait_for_url(f"**/mdt/network/referrals/{code}")
    assert "年龄\n76 岁" in page.locator("#package-facts").inner_text().replace("\t", "\n")
    assert "未披露" in page.locator("#identity").inner_text()
    assert leaks(page.content()) == [] and NAME not in page.content()
    assert page.locator("#patient-link").count() == 0
    page.select_option("#message-specialty", "radiology")
    page.fill("#message-body", "MRI：L2椎体溶骨性破坏伴软组织肿块，符合转移。")
    page.click("#message-submit")
    page.wait_for_url("**?saved=message")
    assert page.locator("#saved").inner_text() == "意见已添加到会诊讨论。"
    assert "放射科" in page.locator("#thread").inner_text()
    answer = page.locator("#answer-form")
    answer.locator("input[name=decision][value=bm_confirmed]").check()
    answer.locator("input[name=attendee][value=oncology]").check()
    answer.locator("input[name=attendee][value=nuclear_medicine]").check()
    page.fill("#answer-rationale", "MRI及CT符合腰椎骨转移，无需活检；建议开始骨靶向治疗。")
    page.screenshot(path=str(ARTIFACTS / "network-centre.zh.png"), full_page=True)
    page.click("#answer-submit")
    page.wait_for_url("**?saved=answered")
    assert page.locator("#saved").inner_text() == "会诊决定已发送给申请医院。"
    assert page.locator("#referral-state").inner_text() == "会诊中心已答复"
    decision = page.locator("#decision").inner_text()
    assert "确诊骨转移" in decision or "骨转移" in decision
    assert "放射科" in decision and "核医学科" in decision
    # the printable opinion (会诊意见)
    page.click("#opinion-html")
    page.wait_for_url("**/opinion.html")
    assert page.locator("h1").inner_text() == "多学科会诊意见"
    assert code in page.locator("#opinion-facts").inner_text()
    assert leaks(page.content()) == []
    _log_out_from_opinion(page)

    # the county accepts: the decision enters the record, MDT-01 closes, BTA-01 opens
    _log_in(page, "county")
    page.goto("/mdt/network")
    page.locator(f"#sent-table tr[data-code='{code}'] a").click()
    page.wait_for_url(f"**/mdt/network/referrals/{code}")
    assert page.locator("#referral-state").inner_text() == "会诊中心已答复"
    assert "放射科" in page.locator("#thread").inner_text()
    page.click("#accept-submit")
    page.wait_for_url("**?saved=accepted")
    assert page.locator("#saved").inner_text() == "会诊中心的决定已写入患者病历。"
    assert page.locator("#referral-state").inner_text() == "已采纳入病历"
    page.screenshot(path=str(ARTIFACTS / "network-accepted.zh.png"), full_page=True)
    page.click("#patient-link")
    page.wait_for_url(f"**/patients/his/{PATIENT_ID}")
    assert page.locator("article.finding[data-rule='MDT-01']").count() == 0
    assert page.locator("article.finding[data-rule='BTA-01']").count() == 1
    record = store.get_record("his", PATIENT_ID)
    assert record is not None
    assert record.to_json_dict()["events"]["mdt"][-1]["centre"] == "R0"


def _log_out_from_opinion(tab: Any) -> None:
    tab.go_back()
    tab.wait_for_url("**/mdt/network/referrals/*")
    _log_out(tab)
