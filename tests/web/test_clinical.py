"""web.clinical: finding values and sources as clinicians read them (issue 15 item 5) — the
internals the issue quotes (``last_dental_date=None``, ``triggers=['SURG-01']``,
``missing=['cortical_involvement_pct']``, ``calcium_mg_daily=500``, seed file names) never
reach the page."""

from __future__ import annotations

import datetime as dt

from bonepath.engine.findings import Finding
from bonepath.rules import load_catalogue
from bonepath.rules.catalogue import VALUE_TYPES
from bonepath.vocab import FindingKind, Severity
from bonepath.web.clinical import VALUE_LABELS, citation, citations, finding_values


def _finding(rule: str, **values: object) -> Finding:
    return Finding(rule, FindingKind.ACTION, Severity.MEDIUM, "", "", None, dict(values), ())


def _shown(rule: str, lang: str = "zh", **values: object) -> list[tuple[str, str]]:
    return [(v.label, v.text) for v in finding_values(_finding(rule, **values), lang)]


def test_every_value_key_of_the_catalogue_has_a_label() -> None:
    assert set(VALUE_TYPES) <= set(VALUE_LABELS)


def test_the_values_the_issue_quotes_read_as_words() -> None:
    assert _shown("SAFE-08", last_dental_date=None, last_dental_result=None) == [
        ("上次口腔检查", "未记录"),
        ("上次口腔检查结果", "未记录"),
    ]
    assert _shown("MDT-01", triggers=["SURG-01", "SAFE-11"], trigger_date=dt.date(2026, 10, 2)) == [
        ("触发规则", "SURG-01、SAFE-11"),
        ("触发日期", "2026-10-02"),
    ]
    assert _shown(
        "SURG-01", score="mirels", site="femur", missing=["cortical_involvement_pct"]
    ) == [
        ("评分", "Mirels评分"),
        ("部位", "股骨"),
        ("需补录", "骨皮质受累（%）"),
    ]
    # SAFE-06: what the guideline asks for, not what the patient takes
    assert _shown("SAFE-06", calcium_mg_daily=500, vitamin_d_iu_daily=400) == [
        ("建议每日钙", "≥500 mg"),
        ("建议每日维生素D", "≥400 IU"),
    ]
    assert _shown("SAFE-06", "en", calcium_mg_daily=500, vitamin_d_iu_daily=400)[0] == (
        "Recommended daily calcium",
        "≥500 mg",
    )
    assert _shown("ADH-02", drug="zoledronic_acid", overdue_days=11) == [
        ("药物", "唑来膦酸"),
        ("逾期", "11 天"),
    ]
    assert _shown("SAFE-14", grade=2, corrected_ca=1.95, ca_unit="mmol/L") == [
        ("分级（CTCAE v5）", "2"),
        ("校正血钙", "1.95 mmol/L"),
    ]


def test_sources_are_citations_with_the_quotation_on_demand() -> None:
    safe06 = citations("SAFE-06", "zh")
    assert (safe06[0].label, safe06[0].quote) == ("《指南解读》表2", "每日补充钙剂及维生素D")
    assert "003_" not in safe06[0].document
    catalogue = load_catalogue()
    labels = {citation(c, "zh").label for rule in catalogue for c in rule.sources}
    assert "《白皮书》结语" in labels and "唑来膦酸（择泰）说明书" in labels
    assert "bonepath 约定（rules.md）" in labels
    assert not any(".txt" in label or "convention" in label for label in labels)
