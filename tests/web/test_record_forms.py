"""The patient page's forms and its clinical language over HTTP (issue 15 items 3, 5, 6).

Each data-needed finding links to the form that answers it, pre-filled; each form writes
through the record parser and clears (or changes) its finding; a refusal names the field in
Chinese with what was typed kept; values read with labels and units, recommendations as
recommendations, sources as citations; numbers as people type them."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient

from api.support import login
from bonepath.store.repository import Store
from web.clinician_support import GAPS_ID, add_gaps_patient

PAGE = f"/patients/his/{GAPS_ID}"


@pytest.fixture
def doctor(client: TestClient, store: Store) -> str:
    add_gaps_patient(store)
    return login(client, "doc_a")


def _finding(page: str, rule: str) -> str:
    """The text of one finding's article (tags stripped), empty when it does not fire."""
    found = re.search(
        rf'<article class="finding[^"]*" data-rule="{rule}">(.*?)</article>', page, re.S
    )
    if found is None:
        return ""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))))


def _visible(page: str) -> str:
    """What a reader sees: the text without tags and attributes."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def _fired(client: TestClient) -> set[str]:
    return set(
        re.findall(r'<article class="finding[^"]*" data-rule="([\w-]+)"', client.get(PAGE).text)
    )


def _post(client: TestClient, csrf: str, form: str, **fields: str | list[str]) -> object:
    return client.post(
        f"{PAGE}/record", data={"csrf_token": csrf, "form": form, **fields}, follow_redirects=False
    )


def test_values_read_as_clinical_language_not_internals(client: TestClient, doctor: str) -> None:
    page = client.get(PAGE).text
    safe06 = _finding(page, "SAFE-06")
    # a recommendation, not the patient's intake (the patient has no supplement record)
    assert "建议每日钙 ≥500 mg" in safe06 and "建议每日维生素D ≥400 IU" in safe06
    seen = _visible(page)
    assert "calcium_mg_daily" not in seen
    surg01 = _finding(page, "SURG-01")
    assert "需补录 骨皮质受累（%）" in surg01 and "部位 股骨" in surg01
    assert "missing" not in seen and "['" not in seen and "None" not in seen
    assert "上次骨痛评估 未记录" in _finding(page, "PAIN-01")
    assert "需补录 KPS评分、内脏转移、Frankel分级（瘫痪）" in _finding(page, "SURG-03")
    # sources as citations, the quotation on demand, no seed file names, no English "convention"
    assert "《指南解读》表2" in safe06 and "每日补充钙剂及维生素D" in safe06
    assert "<blockquote>每日补充钙剂及维生素D</blockquote>" in page
    assert "000_e41800b93e446bea.txt" not in seen and "003_adb8f62cb860f7f3.txt" not in seen
    assert "bonepath 约定（rules.md）" in seen and "bonepath convention" not in seen
    assert "唑来膦酸（择泰）说明书" in _finding(page, "SAFE-01")


def test_each_data_needed_finding_opens_its_form_pre_filled(
    client: TestClient, doctor: str
) -> None:
    page = client.get(PAGE).text
    links = {
        rule: re.findall(
            r'class="answer" href="([^"]+)"', page[page.index(f'data-rule="{rule}"') :]
        )[0]
        for rule in ("PAIN-01", "SAFE-06", "SURG-01", "SURG-02", "SCORE-CG", "SAFE-01")
    }
    assert links["PAIN-01"].endswith("?form=pain#form-pain")
    assert links["SAFE-06"].endswith("?form=supplements#form-supplements")
    assert links["SURG-01"].endswith("?form=lesion&amp;lesion=0#form-lesion")
    assert links["SURG-02"].endswith("?form=lesion&amp;lesion=1#form-lesion")
    assert links["SCORE-CG"].endswith("?form=vitals#form-vitals")
    assert links["SAFE-01"].endswith("?form=labs&amp;test=creatinine#form-labs")
    surg02 = client.get(PAGE, params={"form": "lesion", "lesion": "1"}).text
    form = surg02[surg02.index('id="form-lesion"') :].split("</details>")[0]
    assert '<details open id="form-lesion">' in surg02
    assert 'value="thoracic_spine" selected' in form and 'value="lytic" selected' in form
    assert "补录第 2 个病灶的详情" in form
    labs = client.get(PAGE, params={"form": "labs", "test": "creatinine"}).text
    assert '<details open id="form-labs">' in labs
    assert '<option value="creatinine" selected>' in labs


def test_every_kind_of_fact_clears_the_finding_that_asked(client: TestClient, doctor: str) -> None:
    before = _fired(client)
    assert {"PAIN-01", "SAFE-06", "SURG-01", "SURG-02", "SURG-03", "SCORE-CG"} <= before
    assert (
        _post(
            client,
            doctor,
            "pain",
            date="2026-11-02",
            bone_pain="5",
            pain_sites=["femur"],
            mechanical_pain="no",
            neuro_deficit="no",
            frankel="E",
        ).status_code
        == 303
    )
    assert (
        _post(
            client,
            doctor,
            "supplements",
            date="2026-11-02",
            calcium_mg_daily="600",
            vitamin_d_iu_daily="800",
        ).status_code
        == 303
    )
    assert (
        _post(
            client, doctor, "vitals", date="2026-11-02", weight_kg="68,5", height_cm="170"
        ).status_code
        == 422
    )  # 68,5: decimal comma or 68 500?
    assert (
        _post(
            client, doctor, "vitals", date="2026-11-02", weight_kg="６８.５", height_cm="170"
        ).status_code
        == 303
    )  # full-width digits
    page = client.get(PAGE).text
    fp = re.search(
        r'id="form-lesion".*?name="fingerprint" value="(\w+)"',
        client.get(PAGE, params={"form": "lesion", "lesion": "0"}).text,
        re.S,
    )
    assert fp is not None
    assert (
        _post(
            client,
            doctor,
            "lesion",
            index="0",
            fingerprint=fp.group(1),
            site="femur",
            kind="lytic",
            cortical_involvement_pct="70",
        ).status_code
        == 303
    )
    fp = re.search(
        r'id="form-lesion".*?name="fingerprint" value="(\w+)"',
        client.get(PAGE, params={"form": "lesion", "lesion": "1"}).text,
        re.S,
    )
    assert fp is not None
    assert (
        _post(
            client,
            doctor,
            "lesion",
            index="1",
            fingerprint=fp.group(1),
            site="thoracic_spine",
            kind="lytic",
            level="T7",
            alignment="normal",
            collapse="lt50",
            posterolateral="unilateral",
        ).status_code
        == 303
    )
    assert (
        _post(client, doctor, "performance", date="2026-11-02", ecog="1", kps="80").status_code
        == 303
    )
    cancer_fp = re.search(r'id="form-cancer".*?name="fingerprint" value="(\w+)"', page, re.S)
    assert cancer_fp is not None
    assert (
        _post(
            client, doctor, "cancer", fingerprint=cancer_fp.group(1), visceral_metastasis="none"
        ).status_code
        == 303
    )
    page = client.get(PAGE).text
    after = set(re.findall(r'<article class="finding[^"]*" data-rule="([\w-]+)"', page))
    assert "PAIN-01" not in after and "SAFE-06" not in after
    assert "PAIN-03" in after  # NRS 5: moderate pain
    score_cg = _finding(page, "SCORE-CG")
    assert score_cg and "需补录" not in score_cg and "mL/min" in score_cg
    surg01 = _finding(page, "SURG-01")
    assert (
        "需补录" not in surg01 and "Mirels总分 10" in surg01
    )  # femur 2 + pain 2 + lytic 3 + cortex 3
    surg02 = _finding(page, "SURG-02")
    assert "需补录" not in surg02 and "总分" in surg02
    surg03 = _finding(page, "SURG-03")
    assert "需补录" not in surg03 and "预后" in surg03
    record = client.get(f"/api/patients/his/{GAPS_ID}").json()
    assert record["events"]["vitals"] == [
        {"date": "2026-11-02", "weight_kg": 68.5, "height_cm": 170}
    ]
    assert record["bone_metastasis"]["lesions"][1]["level"] == "T7"
    assert record["cancer"]["visceral_metastasis"] == "none"


def test_other_kinds_of_fact_are_recorded(client: TestClient, doctor: str, store: Store) -> None:
    for form, fields in (
        ("medications", {"date": "2026-11-01", "class": "nsaid", "action": "start"}),
        (
            "treatments",
            {
                "date": "2026-10-20",
                "kind": "radiotherapy_bone",
                "site": "femur",
                "dose_gy": "8",
                "fractions": "1",
            },
        ),
        ("sre", {"date": "2026-10-15", "kind": "pathologic_fracture"}),
        ("adverse_events", {"date": "2026-10-25", "kind": "hypocalcemia", "grade": "1"}),
        ("biopsy", {"date": "2026-02-03", "site": "femur", "result": "metastatic_lung"}),
    ):
        assert _post(client, doctor, form, **fields).status_code == 303, form
    record = store.get_record("his", GAPS_ID)
    assert record is not None
    assert record.events.medications[0].class_.value == "nsaid"
    assert record.events.treatments[0].dose_gy == 8 and record.events.treatments[0].fractions == 1
    assert record.events.sre[0].kind.value == "pathologic_fracture"
    assert record.events.adverse_events[0].grade == 1
    page = client.get(PAGE).text
    assert "SAFE-12" in page and "非甾体抗炎药" in _finding(page, "SAFE-12")
    rows = page[page.index('id="entries"') :]
    assert "骨相关事件（SRE）" in rows and "病理性骨折" in rows and "doc_a" in rows


def test_a_refused_form_names_the_field_in_chinese_and_keeps_what_was_typed(
    client: TestClient, doctor: str
) -> None:
    response = _post(
        client, doctor, "pain", date="2026-11-02", bone_pain="11", pain_sites=["femur", "rib"]
    )
    assert response.status_code == 422
    page = response.text
    assert '<details open id="form-pain">' in page
    form = page[page.index('id="form-pain"') :].split("</details>")[0]
    assert 'class="field invalid" data-field="bone_pain"' in form
    assert "数值超出临床合理范围" in form  # next to the field, in Chinese
    assert 'value="femur" selected' in form and 'value="rib" selected' in form
    problems = page[page.index('id="problems"') :].split("</section>")[0]
    assert "<strong>骨痛评分</strong>" in problems
    assert problems.index("数值超出临床合理范围") < problems.index("IMPLAUSIBLE_VALUE")


def test_dose_errors_lead_with_the_words_and_keep_the_code_secondary(
    client: TestClient, doctor: str
) -> None:
    response = client.post(
        f"{PAGE}/bta",
        data={
            "csrf_token": doctor,
            "date": "2026-11-02",
            "drug": "zoledronic_acid",
            "dose_mg": "-1",
            "route": "iv",
        },
    )
    assert response.status_code == 422
    problems = response.text[response.text.index('id="problems"') :].split("</section>")[0]
    text = html.unescape(re.sub(r"<[^>]+>", "", problems))
    assert text.index("剂量：测量值必须大于0") < text.index("NOT_POSITIVE")


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("1,200", 1200.0), ("１２００", 1200.0), ("1,200.5", 1200.5), ("85↑", 85.0)],
)
def test_lab_numbers_as_people_type_them(
    client: TestClient, doctor: str, store: Store, typed: str, stored: float
) -> None:
    response = client.post(
        f"{PAGE}/labs",
        data={
            "csrf_token": doctor,
            "date": "2026-11-01",
            "test": "alp",
            "value": typed,
            "unit": "U/L",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text[-500:]
    record = store.get_record("his", GAPS_ID)
    assert record is not None and record.events.labs[-1].value == stored


@pytest.mark.parametrize(
    ("test", "typed", "unit", "code", "words"),
    [
        ("alp", "3,0", "U/L", "AMBIGUOUS_VALUE", "取值有歧义"),
        ("alp", "120000", "U/L", "IMPLAUSIBLE_VALUE", "5-10000 U/L"),
        ("vitamin_d", "900", "ng/mL", "IMPLAUSIBLE_VALUE", "1-200 ng/mL"),
        ("creatinine", "90", "mg/dL", "IMPLAUSIBLE_VALUE", "0.1-20 mg/dL"),
    ],
)
def test_implausible_or_ambiguous_lab_values_are_refused_with_the_range(
    client: TestClient,
    doctor: str,
    store: Store,
    test: str,
    typed: str,
    unit: str,
    code: str,
    words: str,
) -> None:
    response = client.post(
        f"{PAGE}/labs",
        data={
            "csrf_token": doctor,
            "date": "2026-11-01",
            "test": test,
            "value": typed,
            "unit": unit,
        },
    )
    assert response.status_code == 422
    assert code in response.text and words in response.text
    record = store.get_record("his", GAPS_ID)
    assert record is not None and len(record.events.labs) == 4  # nothing saved


def test_the_english_page_says_the_same_in_english(client: TestClient, doctor: str) -> None:
    client.get("/lang/en")
    page = client.get(PAGE).text
    safe06 = _finding(page, "SAFE-06")
    assert "Recommended daily calcium ≥500 mg" in safe06
    assert "Guideline 2024 (interpretation), Table 2" in safe06
    assert "Data needed cortical involvement (%)" in _finding(page, "SURG-01")
    assert "Last pain assessment not recorded" in _finding(page, "PAIN-01")
    seen = _visible(page)
    assert "未记录" not in seen and "建议" not in seen and "表2" not in seen
