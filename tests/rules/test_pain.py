"""PAIN: assessment and analgesia (rules.md §8). "Pain" = the latest symptoms item within 30 days."""

from __future__ import annotations

import pytest

from rules.builders import D, Patient, confirmed_man, lesion, scenario

CM = confirmed_man()
P = Patient.man()

# ---- PAIN-01: assess bone pain --------------------------------------------------------------------

P01_NEVER = scenario("pain01.never_assessed", CM, on="2026-09-05")
P01_31 = scenario("pain01.assessed_31_days_ago", CM.symptoms("2026-08-05", 2), on="2026-09-05")
P01_30 = scenario("pain01.assessed_30_days_ago", CM.symptoms("2026-08-06", 2), on="2026-09-05")
P01_ZERO = scenario("pain01.nrs_0_counts", CM.symptoms("2026-09-01", 0), on="2026-09-05")
P01_NO_NRS = scenario(
    "pain01.recent_item_without_nrs", CM.symptoms("2026-08-01", 3).symptoms("2026-09-01", None, neuro=False), on="2026-09-05"
)
P01_SUSPECTED = scenario("pain01.suspected", P.suspected(lesion("rib")), on="2026-09-05")


def test_pain01_bone_pain_not_assessed_within_30_days(then) -> None:
    then(P01_NEVER).fires("PAIN-01", {"last_assessed": None}, kind="data_needed", severity="medium")
    then(P01_31).fires("PAIN-01", {"last_assessed": D("2026-08-05")})
    then(P01_NO_NRS).fires("PAIN-01", {"last_assessed": D("2026-08-01")})


@pytest.mark.parametrize("name", [P01_30, P01_ZERO, P01_SUSPECTED])
def test_pain01_silent(then, name: str) -> None:
    then(name).silent("PAIN-01")


# ---- PAIN-02/03/04: NRS bands ----------------------------------------------------------------------

BANDS = {nrs: scenario(f"pain.nrs_{nrs}", P.symptoms("2026-03-01", nrs), on="2026-03-02") for nrs in (0, 1, 3, 4, 6, 7, 10)}
OLD_PAIN = scenario("pain.nrs_8_31_days_old", P.symptoms("2026-01-30", 8), on="2026-03-02")
LATEST_PAIN = scenario("pain.latest_item", P.symptoms("2026-02-20", 8).symptoms("2026-03-01", 2), on="2026-03-02")


@pytest.mark.parametrize(
    ("nrs", "rule", "severity"),
    [(1, "PAIN-02", "low"), (3, "PAIN-02", "low"), (4, "PAIN-03", "medium"), (6, "PAIN-03", "medium"), (7, "PAIN-04", "high"), (10, "PAIN-04", "high")],
)
def test_pain_bands(then, nrs: int, rule: str, severity: str) -> None:
    t = then(BANDS[nrs])
    t.fires(rule, {"nrs": nrs}, kind="action", severity=severity)
    t.silent(*({"PAIN-02", "PAIN-03", "PAIN-04"} - {rule}))


def test_pain_bands_silent_without_recent_pain(then) -> None:
    then(BANDS[0]).silent("PAIN-02", "PAIN-03", "PAIN-04", "PAIN-05")
    then(OLD_PAIN).silent("PAIN-02", "PAIN-03", "PAIN-04")
    t = then(LATEST_PAIN)  # the latest assessment is the one that counts
    t.fires("PAIN-02", {"nrs": 2})
    t.silent("PAIN-04")


# ---- PAIN-05: refractory or mechanical pain ---------------------------------------------------------

P05_7D = scenario("pain05.nsaid_7_days", P.medication("2026-02-22", "nsaid").symptoms("2026-03-01", 4), on="2026-03-02")
P05_6D = scenario("pain05.nsaid_6_days", P.medication("2026-02-23", "nsaid").symptoms("2026-03-01", 4), on="2026-03-02")
P05_STOPPED = scenario(
    "pain05.nsaid_stopped",
    P.medication("2026-02-01", "nsaid").medication("2026-02-28", "nsaid", "stop").symptoms("2026-03-01", 6),
    on="2026-03-02",
)
P05_RESTARTED = scenario(
    "pain05.nsaid_restarted",
    P.medication("2026-02-01", "nsaid").medication("2026-02-10", "nsaid", "stop").medication("2026-02-26", "nsaid")
    .symptoms("2026-03-01", 6),
    on="2026-03-02",
)
P05_OPIOID = scenario(
    "pain05.weak_opioid_and_new_nsaid",
    P.medication("2026-02-01", "weak_opioid").medication("2026-02-26", "nsaid").symptoms("2026-03-01", 5),
    on="2026-03-02",
)
P05_ADJUVANT = scenario(
    "pain05.adjuvant_is_not_an_analgesic", P.medication("2026-02-01", "adjuvant_analgesic").symptoms("2026-03-01", 6), on="2026-03-02"
)
P05_NRS3 = scenario("pain05.nrs_3", P.medication("2026-02-01", "strong_opioid_long").symptoms("2026-03-01", 3), on="2026-03-02")
P05_MECH = scenario("pain05.mechanical", P.symptoms("2026-03-01", 2, "femur", mechanical=True), on="2026-03-02")


def test_pain05_refractory_pain(then) -> None:
    then(P05_7D).fires("PAIN-05", {"nrs": 4, "mechanical_pain": False}, kind="action", severity="high")
    then(P05_OPIOID).fires("PAIN-05", {"nrs": 5, "mechanical_pain": False})


def test_pain05_mechanical_pain_at_any_nrs(then) -> None:
    then(P05_MECH).fires("PAIN-05", {"nrs": 2, "mechanical_pain": True})


@pytest.mark.parametrize("name", [P05_6D, P05_STOPPED, P05_RESTARTED, P05_ADJUVANT, P05_NRS3])
def test_pain05_silent(then, name: str) -> None:
    then(name).silent("PAIN-05")
