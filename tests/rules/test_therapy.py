"""TX: systemic-therapy prompts (rules.md §7)."""

from __future__ import annotations

import pytest

from rules.builders import Patient, confirmed_man, lesion, scenario

P = Patient.man()

# ---- TX-02: driver-positive without targeted therapy ----------------------------------------------

T02 = scenario("tx02.alk_ros1", P.drivers(ROS1="positive", EGFR="negative", ALK="positive"), on="2026-02-01")
T02_ALL = scenario(
    "tx02.order",
    P.drivers(HER2="positive", NTRK="positive", RET="positive", MET="positive", BRAF_V600E="positive", KRAS_G12C="positive", EGFR="positive"),
    on="2026-02-01",
)
T02_TARGETED = scenario("tx02.targeted_recorded", P.drivers(EGFR="positive").treatment("2026-01-20", "targeted"), on="2026-02-01")
T02_RESECTED = scenario(
    "tx02.resected", P.diagnosed("2026-01-10", setting="resected", stage="II").drivers(EGFR="positive"), on="2026-02-01"
)
T02_UNKNOWN = scenario("tx02.unknown", P.drivers(EGFR="unknown", ALK="negative"), on="2026-02-01")


def test_tx02_targeted_therapy_first(then) -> None:
    then(T02).fires("TX-02", {"genes": ["ALK", "ROS1"]}, kind="action", severity="medium")
    # positive genes in record-format order, whatever the order in the record
    then(T02_ALL).fires(
        "TX-02", {"genes": ["EGFR", "KRAS_G12C", "BRAF_V600E", "MET", "RET", "NTRK", "HER2"]}
    )


@pytest.mark.parametrize("name", [T02_TARGETED, T02_RESECTED, T02_UNKNOWN])
def test_tx02_silent(then, name: str) -> None:
    then(name).silent("TX-02")


# ---- TX-03: driver-negative, fit: platinum doublet + ICI -------------------------------------------

NEG = P.drivers(EGFR="negative", ALK="negative")
T03_1 = scenario("tx03.ecog_1", NEG.performance("2026-01-20", ecog=1), on="2026-02-01")
T03_0 = scenario("tx03.ecog_0", NEG.performance("2026-01-20", ecog=0), on="2026-02-01")
T03_2 = scenario("tx03.ecog_2", NEG.performance("2026-01-20", ecog=2), on="2026-02-01")
T03_NO_ECOG = scenario("tx03.no_ecog", NEG, on="2026-02-01")
T03_ALK_UNKNOWN = scenario("tx03.alk_unknown", P.drivers(EGFR="negative", ALK="unknown").performance("2026-01-20", ecog=1), on="2026-02-01")
T03_KRAS = scenario("tx03.kras_positive", NEG.drivers(KRAS_G12C="positive").performance("2026-01-20", ecog=1), on="2026-02-01")
T03_TREATED = scenario(
    "tx03.chemotherapy_recorded", NEG.performance("2026-01-20", ecog=1).treatment("2026-01-25", "chemotherapy"), on="2026-02-01"
)
T03_LOCAL = scenario(
    "tx03.locally_advanced",
    NEG.diagnosed("2026-01-10", setting="locally_advanced", stage="III").performance("2026-01-20", ecog=1),
    on="2026-02-01",
)


def test_tx03_platinum_doublet_plus_ici(then) -> None:
    then(T03_1).fires("TX-03", {"ecog": 1}, kind="action", severity="medium")
    then(T03_0).fires("TX-03", {"ecog": 0})


@pytest.mark.parametrize("name", [T03_2, T03_NO_ECOG, T03_ALK_UNKNOWN, T03_KRAS, T03_TREATED, T03_LOCAL])
def test_tx03_silent(then, name: str) -> None:
    then(name).silent("TX-03")


def test_tx03_driver_positive_goes_to_tx02(then) -> None:
    then(T03_KRAS).fires("TX-02", {"genes": ["KRAS_G12C"]})


# ---- TX-04: immunotherapy with confirmed bone metastasis and no BTA ---------------------------------

CM = confirmed_man()
T04 = scenario("tx04.immunotherapy", CM.treatment("2026-09-02", "immunotherapy"), on="2026-09-05")
T04_CHEMO_IO = scenario("tx04.chemo_immunotherapy", CM.treatment("2026-09-02", "chemo_immunotherapy"), on="2026-09-05")
T04_DOSED = scenario(
    "tx04.with_bta", CM.treatment("2026-09-02", "immunotherapy").dose("2026-09-04", "denosumab"), on="2026-09-05"
)
T04_CHEMO = scenario("tx04.chemotherapy_only", CM.treatment("2026-09-02", "chemotherapy"), on="2026-09-05")
T04_SUSPECTED = scenario(
    "tx04.suspected", Patient.man().suspected(lesion("rib")).treatment("2026-09-02", "immunotherapy"), on="2026-09-05"
)


@pytest.mark.parametrize("name", [T04, T04_CHEMO_IO])
def test_tx04_add_a_bta_to_immunotherapy(then, name: str) -> None:
    then(name).fires("TX-04", {}, kind="alert", severity="medium")


@pytest.mark.parametrize("name", [T04_DOSED, T04_CHEMO, T04_SUSPECTED])
def test_tx04_silent(then, name: str) -> None:
    then(name).silent("TX-04")
