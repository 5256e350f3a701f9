"""Walk of ``bonepath demo`` (2026-12): the referral pages showed the de-identified package as
raw JSON (~9,600 px of ``"department": "thoracic_surgery"``…). They now show it as the MDT
case page shows its frozen summary: labelled values with units, codes in words, dates as days
from the referral (第 −12 天), findings with rule id, title and readable citation; the JSON
stays as a download for other systems. Nothing planted leaks (the leak test's tokens)."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from bonepath.api import mdt_service
from bonepath.record.parse import parse_record
from bonepath.store import accounts
from bonepath.store.repository import Store

from .test_network import (  # noqa: F401  (fixtures)
    AS_OF,
    PASSWORD,
    PATIENT_ID,
    app_client,
    bearer,
    leaks,
    planted_record,
    refer,
    store,
)

SNAKE_KEY = re.compile(r'"[a-z]+_[a-z_]+"\s*:|\b[a-z]+_[a-z]+(?:_[a-z]+)*\b')


def _text(html: str, section: str) -> str:
    """The words of the package's card (up to the thread's card or the page's end)."""
    found = re.search(
        rf'<section class="card block" id="{section}">(.*?)(?:<section class="card block" id="thread">|</main>)',
        html,
        re.S,
    )
    assert found is not None, section
    return re.sub(r"<[^>]+>", " ", found.group(1))


def _thoracic(opened: Store) -> None:
    record: dict[str, Any] = planted_record()
    record["department"] = "thoracic_surgery"
    opened.upsert_records([parse_record(record, today=AS_OF)], import_source="tests")


def test_the_refer_preview_shows_the_package_in_words_not_json(
    app_client: TestClient,  # noqa: F811  (the network tests' fixtures)
    store: Store,  # noqa: F811
) -> None:
    _thoracic(store)
    county = bearer(store, "county")
    page = app_client.get(f"/mdt/network/refer/his/{PATIENT_ID}", headers=county)
    assert page.status_code == 200
    shown = _text(page.text, "package-preview")
    assert '"department":' not in page.text and "{" not in shown
    assert SNAKE_KEY.findall(shown) == []
    # labelled values with units, codes in words, days from the referral
    assert "科室" in shown and "胸外科" in shown and "thoracic" not in shown
    assert "年龄" in shown and "76 岁" in shown and "男" in shown
    assert "三四线城市" in shown and "主治医师" in shown
    assert "腺癌" in shown and "T2aN1M1c" in shown and "腰椎" in shown and "溶骨性" in shown
    assert "第 −18 天" in shown and "第 −296 天" in shown
    assert "血肌酐" in shown and "0.9" in shown and "mg/dL" in shown and "62 kg" in shown
    assert "L2 溶骨性破坏" in shown and "[已隐去]" in shown
    assert leaks(shown) == []  # (the referrer's own page links the patient by id)


def test_the_referral_page_shows_the_case_summary_and_findings_readably(
    app_client: TestClient,  # noqa: F811  (the network tests' fixtures)
    store: Store,  # noqa: F811
) -> None:
    _thoracic(store)
    who = accounts.authenticate(store.engine, "county", PASSWORD, "t")
    assert who is not None
    case = mdt_service.create_case(store, who, "his", PATIENT_ID, today=AS_OF, referred_to="R0")
    county, centre = bearer(store, "county"), bearer(store, "centre")
    answer = app_client.post(
        f"/mdt/network/refer/his/{PATIENT_ID}",
        data={"question": "diagnosis", "case_id": str(case.id)},
        headers=county,
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    code = answer.headers["location"].split("/referrals/")[1].split("?")[0]
    page = app_client.get(f"/mdt/network/referrals/{code}", headers=centre)
    assert page.status_code == 200
    shown = _text(page.text, "package")
    assert '"department":' not in page.text and SNAKE_KEY.findall(shown) == []
    assert "胸外科" in shown and "76 岁" in shown
    # the frozen summary as on the MDT case page: lesion with its missing SINS inputs in words
    assert "病例摘要" in shown and "缺少: 脊柱序列、椎体塌陷、后外侧受累" in shown
    assert "血肌酐：0.9 mg/dL (第 −5 天)" in shown and "61.2 mL/min" in shown
    # findings: rule id, title, day due, readable citation (not the seed file)
    assert "MDT-01" in shown and "提交骨转移MDT讨论" in shown and "第 +1 天" in shown
    assert "《白皮书》" in shown and ".txt" not in shown
    assert re.search(r"触发日期\s+第 −13 天", shown) and "trigger_day" not in page.text
    json_link = re.search(r'id="package-json-link" href="([^"]+)"', page.text)
    assert json_link is not None
    body = app_client.get(json_link.group(1), headers=centre)
    assert body.json()["record"]["department"] == "thoracic_surgery"
    assert leaks(page.text) == [] and leaks(body.text) == []
    # the English page is complete too
    app_client.get("/lang/en")
    english = app_client.get(f"/mdt/network/referrals/{code}", headers=centre)
    assert "Thoracic surgery" in _text(english.text, "package") and "day −18" in english.text
