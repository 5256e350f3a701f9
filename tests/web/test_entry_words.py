"""The patient page's record entries read in words, never as stored codes (browser walk, 2026-12)."""

from __future__ import annotations

from bonepath.web.record_forms import EDIT_SPECS, entry_text

PET = {"date": "2026-09-18", "modality": "pet_ct", "region": "whole_body", "result": "positive"}


def test_imaging_region_reads_in_chinese_not_as_its_code() -> None:
    shown = entry_text("imaging", PET, "zh")
    assert "部位 全身" in shown
    assert "whole_body" not in shown
    assert "部位 胸部" in entry_text("imaging", {**PET, "region": "chest"}, "zh")


def test_imaging_region_reads_in_english_words() -> None:
    assert "Region whole body" in entry_text("imaging", PET, "en")
    assert "chest and abdomen" in entry_text("imaging", {**PET, "region": "chest_abdomen"}, "en")


def test_the_correction_form_offers_regions_by_name() -> None:
    region = next(f for f in EDIT_SPECS["imaging"].fields if f.name == "region")
    assert dict(region.choices)["whole_body"] == ("全身", "whole body")
    assert all(zh != code for code, (zh, _en) in region.choices)
