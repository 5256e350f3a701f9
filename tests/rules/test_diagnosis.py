"""DX: the diagnostic pathway of a suspected bone metastasis (rules.md §3)."""

from __future__ import annotations

import datetime as dt

import pytest

from rules.builders import D, Patient, lesion, scenario

SUSP = Patient.man().suspected()
NOSTATUS = Patient.man()

# ---- DX-01 / DX-02 / DX-05: a bone-scan-positive site without cross-sectional imaging -----------

SPINE = scenario(
    "dx.spine_scan_xray_negative",
    SUSP.bone_scan("2026-02-01", "positive", "lumbar_spine").xray("2026-02-03", "negative", "lumbar_spine", region="spine"),
    on="2026-02-05",
)
TWO_SITES = scenario("dx.two_scan_sites", SUSP.bone_scan("2026-02-01", "positive", "rib", "femur"), on="2026-02-05")
CT_OF_ONE = scenario(
    "dx.ct_of_one_site",
    SUSP.bone_scan("2026-02-01", "positive", "rib", "femur").ct("2026-02-03", "negative", "rib"),
    on="2026-02-05",
)
PET_OF_SITE = scenario(
    "dx.pet_of_the_site", SUSP.bone_scan("2026-02-01", "positive", "rib").pet_ct("2026-02-03", "negative", "rib"), on="2026-02-05"
)
XRAY_POS = scenario(
    "dx.xray_suspicious",
    SUSP.bone_scan("2026-02-01", "positive", "femur").xray("2026-02-03", "suspicious", "femur", region="limb"),
    on="2026-02-05",
)
RECORDED_CONF = scenario(
    "dx.recorded_confirmed",
    Patient.man().confirmed("2026-01-25", lesion("rib")).bone_scan("2026-02-01", "positive", "rib"),
    on="2026-02-05",
)
SCAN_SUSPICIOUS = scenario("dx.scan_only_suspicious", SUSP.bone_scan("2026-02-01", "suspicious", "rib"), on="2026-02-05")


def test_dx01_dx02_dx05_scan_positive_spine_site_with_negative_xray(then) -> None:
    t = then(SPINE)
    t.fires("DX-01", {"site": "lumbar_spine", "modality": "ct"}, kind="action", severity="high")
    t.fires("DX-02", {"site": "lumbar_spine", "modality": "ct"}, kind="action", severity="high")
    t.fires("DX-05", {"site": "lumbar_spine", "modality": "mri"}, kind="action", severity="medium")
    t.fires("BTA-01b", {"status": "suspected"})
    t.silent("BTA-01", "BTA-03", "DX-07")  # a bone scan alone never confirms


def test_dx01_fires_per_site(then) -> None:
    t = then(TWO_SITES)
    t.fires_items("DX-01", [{"site": "rib", "modality": "ct"}, {"site": "femur", "modality": "ct"}])
    t.silent("DX-02", "DX-05", "DX-04")


def test_dx01_silent_for_a_site_with_ct_or_pet(then) -> None:
    then(CT_OF_ONE).fires_items("DX-01", [{"site": "femur", "modality": "ct"}])
    then(PET_OF_SITE).silent("DX-01")


def test_dx02_needs_a_negative_xray(then) -> None:
    t = then(XRAY_POS)
    t.fires("DX-01", {"site": "femur", "modality": "ct"})
    t.silent("DX-02")


@pytest.mark.parametrize("name", [RECORDED_CONF, SCAN_SUSPICIOUS])
def test_dx01_silent_when_confirmed_or_scan_not_positive(then, name: str) -> None:
    then(name).silent("DX-01", "DX-02")


# ---- DX-03: several sites on the bone scan -> PET-CT --------------------------------------------

DX03_COUNT = scenario("dx03.lesion_count_2", SUSP.bone_scan("2026-02-01", "positive", "rib", lesion_count=2), on="2026-02-05")
DX03_ONE = scenario("dx03.one_site", SUSP.bone_scan("2026-02-01", "positive", "rib", lesion_count=1), on="2026-02-05")
DX03_LATEST = scenario(
    "dx03.latest_scan_counts",
    SUSP.bone_scan("2026-01-20", "suspicious", "rib", "pelvis").bone_scan("2026-02-01", "suspicious", "rib"),
    on="2026-02-05",
)
DX03_CONF = scenario(
    "dx03.confirmed",
    Patient.man().confirmed("2026-01-25", lesion("rib")).bone_scan("2026-02-01", "positive", "rib", "pelvis"),
    on="2026-02-05",
)


def test_dx03_pet_ct_for_several_sites(then) -> None:
    then(TWO_SITES).fires("DX-03", {"modality": "pet_ct"}, kind="action", severity="medium")
    then(DX03_COUNT).fires("DX-03", {"modality": "pet_ct"})


@pytest.mark.parametrize("name", [DX03_ONE, DX03_LATEST, DX03_CONF])
def test_dx03_silent(then, name: str) -> None:
    then(name).silent("DX-03")


# ---- DX-04: one uncertain site after CT/MRI -> biopsy (+ MDT-01) -------------------------------

ONE_SITE = NOSTATUS.bone_scan("2026-02-01", "positive", "rib")
DX04_CT_SUSP = scenario("dx04.ct_suspicious", ONE_SITE.ct("2026-02-05", "suspicious", "rib"), on="2026-02-10")
DX04_CT_NEG = scenario("dx04.ct_negative", ONE_SITE.ct("2026-02-05", "negative", "rib"), on="2026-02-10")
DX04_MRI = scenario("dx04.mri_suspicious", ONE_SITE.mri("2026-02-05", "suspicious", "rib", region="other"), on="2026-02-10")
DX04_BENIGN = scenario(
    "dx04.benign_biopsy", ONE_SITE.ct("2026-02-05", "suspicious", "rib").biopsy("2026-02-08", "rib", "benign"), on="2026-02-10"
)
DX04_NONDX = scenario(
    "dx04.nondiagnostic_biopsy",
    ONE_SITE.ct("2026-02-05", "suspicious", "rib").biopsy("2026-02-08", "rib", "nondiagnostic"),
    on="2026-02-10",
)
DX04_TWO = scenario(
    "dx04.two_sites",
    NOSTATUS.bone_scan("2026-02-01", "positive", "rib", "pelvis").ct("2026-02-05", "suspicious", "rib"),
    on="2026-02-10",
)
DX04_NO_CT = scenario("dx04.no_cross_sectional", ONE_SITE, on="2026-02-10")


@pytest.mark.parametrize("name", [DX04_CT_SUSP, DX04_CT_NEG, DX04_MRI, DX04_NONDX])
def test_dx04_biopsy_of_a_single_uncertain_site_and_mdt(then, name: str) -> None:
    t = then(name)
    t.fires("DX-04", {"site": "rib", "procedure": "biopsy"}, kind="action", severity="high")
    # v1.1: due 14 days after the trigger (the CT/MRI of 2026-02-05), not after the day
    t.fires("MDT-01", {"triggers": ["DX-04"], "trigger_date": D("2026-02-05")}, due=D("2026-02-19"), severity="high")
    t.fires("BTA-01b", {"status": "suspected"})
    t.silent("BTA-01", "DX-07")


@pytest.mark.parametrize("name", [DX04_BENIGN, DX04_TWO, DX04_NO_CT])
def test_dx04_silent(then, name: str) -> None:
    then(name).silent("DX-04")


# ---- DX-05: suspected spine site without MRI -----------------------------------------------------

DX05_CT = scenario("dx05.spine_ct_suspicious", SUSP.ct("2026-02-01", "suspicious", "thoracic_spine"), on="2026-02-05")
DX05_MRI = scenario(
    "dx05.spine_with_mri",
    SUSP.ct("2026-02-01", "suspicious", "thoracic_spine").mri("2026-02-03", "suspicious", "thoracic_spine"),
    on="2026-02-05",
)
DX05_RIB = scenario("dx05.not_spine", SUSP.ct("2026-02-01", "suspicious", "rib"), on="2026-02-05")


DX05_LESION = scenario(
    "dx05.listed_spine_lesion", Patient.man().suspected(lesion("sacrum"), lesion("rib")), on="2026-02-05"
)
DX05_LESION_MRI = scenario(
    "dx05.listed_spine_lesion_with_mri",
    Patient.man().suspected(lesion("sacrum")).mri("2026-02-01", "suspicious", "sacrum", region="pelvis"),
    on="2026-02-05",
)
DX05_LESION_CONF = scenario("dx05.confirmed_spine_lesion", Patient.man().confirmed("2026-02-01", lesion("sacrum")), on="2026-02-05")


def test_dx05_mri_for_a_suspected_spine_site(then) -> None:
    then(DX05_CT).fires("DX-05", {"site": "thoracic_spine", "modality": "mri"}, kind="action", severity="medium")
    then(DX05_MRI).silent("DX-05")
    then(DX05_RIB).silent("DX-05")


def test_dx05_a_listed_spine_lesion_of_a_suspected_patient_counts(then) -> None:
    # clarifications C-17: the safe reading of "suspected at a spine site"
    then(DX05_LESION).fires_items("DX-05", [{"site": "sacrum", "modality": "mri"}])
    then(DX05_LESION_MRI).silent("DX-05")
    then(DX05_LESION_CONF).silent("DX-05")


# ---- DX-07: confirmation by events ---------------------------------------------------------------

DX07_SCAN_CT = scenario(
    "dx07.scan_then_ct",
    NOSTATUS.bone_scan("2026-02-01", "positive", "pelvis").ct("2026-02-10", "positive", "pelvis", region="pelvis"),
    on="2026-02-12",
)
DX07_CT_SCAN = scenario(
    "dx07.ct_then_scan",
    NOSTATUS.ct("2026-02-01", "positive", "pelvis", region="pelvis").bone_scan("2026-02-10", "positive", "pelvis"),
    on="2026-02-12",
)
DX07_PET = scenario("dx07.pet_site", SUSP.pet_ct("2026-02-05", "positive", "femur"), on="2026-02-12")
DX07_BIOPSY = scenario("dx07.biopsy", SUSP.biopsy("2026-02-07", "sacrum"), on="2026-02-12")
DX07_EARLIEST = scenario(
    "dx07.earliest_criterion",
    SUSP.biopsy("2026-02-07", "sacrum").pet_ct("2026-02-05", "positive", "femur"),
    on="2026-02-12",
)
DX07_SPECT = scenario(
    "dx07.spect_ct",
    NOSTATUS.bone_scan("2026-02-01", "positive", "rib").imaging("2026-02-03", "spect_ct", "positive", ["rib"]),
    on="2026-02-12",
)
DX07_XRAY = scenario(
    "dx07.xray", NOSTATUS.bone_scan("2026-02-01", "positive", "femur").xray("2026-02-03", "positive", "femur"), on="2026-02-12"
)
DX07_DIFFERENT = scenario(
    "dx07.different_sites",
    NOSTATUS.bone_scan("2026-02-01", "positive", "rib").ct("2026-02-03", "positive", "femur"),
    on="2026-02-12",
)
DX07_CT_SUSP = scenario(
    "dx07.ct_only_suspicious",
    NOSTATUS.bone_scan("2026-02-01", "positive", "rib").ct("2026-02-03", "suspicious", "rib"),
    on="2026-02-12",
)
DX07_PET_NO_SITE = scenario("dx07.pet_without_bone_sites", NOSTATUS.pet_ct("2026-02-05", "positive"), on="2026-02-12")
DX07_OTHER_BIOPSY = scenario("dx07.other_malignancy", SUSP.biopsy("2026-02-07", "rib", "other_malignancy"), on="2026-02-12")
DX07_RECORDED = scenario(
    "dx07.recorded_confirmed",
    Patient.man().confirmed("2026-02-01", lesion("rib")).biopsy("2026-02-07", "rib"),
    on="2026-02-12",
)


@pytest.mark.parametrize(
    ("name", "day", "site"),
    [
        (DX07_SCAN_CT, "2026-02-10", "pelvis"),  # the later of the two exams
        (DX07_CT_SCAN, "2026-02-10", "pelvis"),
        (DX07_PET, "2026-02-05", "femur"),
        (DX07_BIOPSY, "2026-02-07", "sacrum"),
        (DX07_EARLIEST, "2026-02-05", "femur"),
        (DX07_SPECT, "2026-02-03", "rib"),
        (DX07_XRAY, "2026-02-03", "femur"),
    ],
)
def test_dx07_confirmed_by_events(then, name: str, day: str, site: str) -> None:
    t = then(name)
    t.fires("DX-07", {"confirmed_date": D(day), "site": site}, kind="info", severity="medium")
    # confirmed from that date on: BTA-01 is due 14 days later
    since = (D("2026-02-12") - D(day)).days
    t.fires("BTA-01", {"confirmed_date": D(day), "days_since_confirmation": since}, due=D(day) + dt.timedelta(days=14))
    t.silent("BTA-01b", "VAL-05")


@pytest.mark.parametrize("name", [DX07_DIFFERENT, DX07_CT_SUSP, DX07_PET_NO_SITE, DX07_OTHER_BIOPSY])
def test_dx07_silent_without_a_confirming_site(then, name: str) -> None:
    t = then(name)
    t.silent("DX-07", "BTA-01")
    t.fires("BTA-01b", {"status": "suspected"})


def test_dx07_silent_when_already_recorded_confirmed(then) -> None:
    t = then(DX07_RECORDED)
    t.silent("DX-07")
    t.fires("BTA-01", {"confirmed_date": D("2026-02-01"), "days_since_confirmation": 11})
