"""ADH: reminders, overdue doses, intervals and gaps of an active BTA (rules.md §6, D-09, D-11).

Denosumab doses 2026-08-01 and 2026-08-29: next dose due 2026-09-26 (28 days, always for
denosumab); reminder window 2026-09-23 .. 2026-09-26; ADH-03 from 29 days overdue (2026-10-25).
"""

from __future__ import annotations

import pytest

from rules.builders import D, Patient, lesion, scenario

BASE = (
    Patient.man()
    .confirmed("2026-07-20", lesion("rib"))
    .weight("2026-07-20", 70)
    .creatinine("2026-07-20", 1.0)
    .dental("2026-07-21")
    .supplements("2026-08-01", 600, 800)
)
DENO = BASE.dose("2026-08-01", "denosumab").dose("2026-08-29", "denosumab")

A_EVE = scenario("adh.day_minus_4", DENO, on="2026-09-22")
A_REMIND = scenario("adh.day_minus_3", DENO, on="2026-09-23")
A_DUE = scenario("adh.due_day", DENO, on="2026-09-26")
A_OVER1 = scenario("adh.overdue_1", DENO, on="2026-09-27")
A_OVER28 = scenario("adh.overdue_28", DENO, on="2026-10-24")
A_OVER29 = scenario("adh.overdue_29", DENO, on="2026-10-25")
A_STOPPED = scenario("adh.stopped", DENO.stop("2026-09-01", "patient_refusal"), on="2026-09-27")
A_DENO_84 = scenario(
    "adh.denosumab_ignores_84", BASE.dose("2026-08-01", "denosumab").dose("2026-08-29", "denosumab", interval_days=84), on="2026-09-23"
)
ZOL84 = BASE.dose("2026-06-01", "zoledronic_acid", 4.0, interval_days=84)
A_ZOL84 = scenario("adh.zoledronic_q12w", ZOL84, on="2026-08-21")
A_PLAN21 = scenario("adh.plan_interval", BASE.plan("zoledronic_acid", 21).dose("2026-08-01", "zoledronic_acid", 4.0), on="2026-08-19")
A_HELD = scenario("adh.held_overdue", DENO.calcium("2026-10-20", 1.9), on="2026-10-25")


def test_adh01_reminder_from_3_days_before_due(then) -> None:
    then(A_EVE).silent("ADH-01", "ADH-02")
    for name in (A_REMIND, A_DUE):
        t = then(name)
        t.fires(
            "ADH-01",
            {"drug": "denosumab", "due": D("2026-09-26"), "reminder_date": D("2026-09-23")},
            kind="reminder",
            severity="medium",
            due=D("2026-09-26"),
        )
        t.silent("ADH-02", "ADH-03")


def test_adh02_overdue_from_the_first_day(then) -> None:
    t = then(A_OVER1)
    t.fires("ADH-02", {"drug": "denosumab", "due": D("2026-09-26"), "overdue_days": 1}, kind="alert", severity="medium")
    t.silent("ADH-01", "ADH-03")


def test_adh03_more_than_28_days_overdue(then) -> None:
    t = then(A_OVER28)
    t.fires("ADH-02", {"drug": "denosumab", "due": D("2026-09-26"), "overdue_days": 28})
    t.silent("ADH-03")
    t = then(A_OVER29)
    t.fires("ADH-02", {"drug": "denosumab", "due": D("2026-09-26"), "overdue_days": 29})
    t.fires("ADH-03", {"drug": "denosumab", "due": D("2026-09-26"), "overdue_days": 29}, kind="action", severity="high")


def test_adh_intervals_set_the_due_date(then) -> None:
    # denosumab stays q4w even if 84 days is recorded (BTA-10)
    then(A_DENO_84).fires("ADH-01", {"drug": "denosumab", "due": D("2026-09-26"), "reminder_date": D("2026-09-23")})
    # zoledronic acid q12w on an explicit 84: 2026-06-01 + 84 d = 2026-08-24
    then(A_ZOL84).fires("ADH-01", {"drug": "zoledronic_acid", "due": D("2026-08-24"), "reminder_date": D("2026-08-21")})
    # no interval on the dose: bta_plan's 21 days
    then(A_PLAN21).fires("ADH-01", {"drug": "zoledronic_acid", "due": D("2026-08-22"), "reminder_date": D("2026-08-19")})


def test_adh_silent_when_the_course_is_stopped(then) -> None:
    then(A_STOPPED).silent("ADH-01", "ADH-02", "ADH-03", "ADH-04", "ADH-05", "ADH-06")


def test_adh06_a_hold_replaces_the_overdue_alerts(then) -> None:
    t = then(A_HELD)
    t.fires("SAFE-05", {"drug": "denosumab", "corrected_ca": 1.9, "ca_unit": "mmol/L"})
    t.silent("ADH-01", "ADH-02", "ADH-03")
    t.fires("ADH-06", {"drug": "denosumab", "held_by": "SAFE-05"}, kind="info", severity="low")
    then(A_OVER29).silent("ADH-06")


# ---- ADH-04: the last interval between two doses of the current drug -------------------------------

def two_doses(drug: str, gap_to: str, first_interval: int | None = None, mg: float | None = None) -> Patient:
    return BASE.dose("2026-06-01", drug, mg, interval_days=first_interval).dose(gap_to, drug, mg)


INTERVALS = [
    # (drug, second dose, interval planned at the first dose, days, class)
    ("denosumab", "2026-06-27", None, 26, "short"),
    ("denosumab", "2026-06-28", None, 27, "standard"),
    ("denosumab", "2026-07-01", None, 30, "standard"),
    ("denosumab", "2026-07-02", None, 31, "extended"),
    ("zoledronic_acid", "2026-06-21", None, 20, "short"),
    ("zoledronic_acid", "2026-06-22", None, 21, "standard"),
    ("zoledronic_acid", "2026-07-01", None, 30, "standard"),
    ("zoledronic_acid", "2026-07-02", None, 31, "extended"),
    ("zoledronic_acid", "2026-08-24", None, 84, "extended"),  # 84 days on a q4w plan
    ("zoledronic_acid", "2026-08-16", 84, 76, "short"),  # below the 84-day plan's 77–91 window
    ("zoledronic_acid", "2026-08-17", 84, 77, "standard"),
    ("zoledronic_acid", "2026-08-31", 84, 91, "standard"),
    ("zoledronic_acid", "2026-09-01", 84, 92, "extended"),
    ("zoledronic_acid", "2026-06-29", 84, 28, "standard"),  # 21–30 is always standard
]
ADH04 = {
    (drug, second, planned): scenario(
        f"adh04.{drug}_{second}_{planned}", two_doses(drug, second, planned, 4.0 if drug == "zoledronic_acid" else None), on="2026-09-02"
    )
    for drug, second, planned, _, _ in INTERVALS
}
ADH04_SWITCH = scenario(
    "adh04.other_drug_before", BASE.dose("2026-06-01", "zoledronic_acid", 4.0).dose("2026-06-29", "denosumab"), on="2026-07-01"
)
ADH04_PLAN84 = scenario(
    "adh04.bta_plan_84",
    BASE.plan("zoledronic_acid", 84).dose("2026-06-01", "zoledronic_acid", 4.0).dose("2026-08-24", "zoledronic_acid", 4.0),
    on="2026-09-02",
)


@pytest.mark.parametrize(("drug", "second", "planned", "days", "cls"), INTERVALS)
def test_adh04_interval_class(then, drug: str, second: str, planned: int | None, days: int, cls: str) -> None:
    then(ADH04[(drug, second, planned)]).fires(
        "ADH-04", {"drug": drug, "interval_days": days, "interval_class": cls}, kind="info", severity="low"
    )


def test_adh04_needs_two_doses_of_the_current_drug(then) -> None:
    then(ADH04_SWITCH).silent("ADH-04")
    then(A_ZOL84).silent("ADH-04")


def test_adh04_plan_from_bta_plan(then) -> None:
    then(ADH04_PLAN84).fires("ADH-04", {"drug": "zoledronic_acid", "interval_days": 84, "interval_class": "standard"})


# ---- ADH-05: a long gap without a recorded stop ---------------------------------------------------

ONE_DENO = BASE.dose("2026-06-01", "denosumab")
A05_84 = scenario("adh05.denosumab_84_days", ONE_DENO, on="2026-08-24")
A05_85 = scenario("adh05.denosumab_85_days", ONE_DENO, on="2026-08-25")
A05_Z112 = scenario("adh05.q12w_112_days", ZOL84, on="2026-09-21")
A05_Z113 = scenario("adh05.q12w_113_days", ZOL84, on="2026-09-22")
A05_STOP = scenario("adh05.stopped", ONE_DENO.stop("2026-06-20", "cost"), on="2026-08-25")


def test_adh05_gap_longer_than_max_84_or_interval_plus_28(then) -> None:
    then(A05_84).silent("ADH-05")
    then(A05_85).fires(
        "ADH-05",
        {"drug": "denosumab", "last_dose_date": D("2026-06-01"), "days_since_last_dose": 85},
        kind="action",
        severity="medium",
    )
    then(A05_Z112).silent("ADH-05")  # max(84, 84 + 28) = 112
    then(A05_Z113).fires("ADH-05", {"drug": "zoledronic_acid", "last_dose_date": D("2026-06-01"), "days_since_last_dose": 113})
    then(A05_STOP).silent("ADH-05")
