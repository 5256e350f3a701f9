"""Every numerator, denominator and exclusion edge of QC-01..QC-10 on hand-built records.

Period: 2026-01-01 .. 2026-10-31 (tests/quality/support.py) unless a test says otherwise.
"""

from __future__ import annotations

import datetime as dt

from quality.support import (
    END,
    START,
    confirmed,
    ct,
    deno,
    record,
    scan,
    unit_rows,
    units,
    zol,
)


def test_qc01_counts_chest_cts_of_the_period_and_absent_review_as_not_reviewed() -> None:
    rows = unit_rows(
        [
            record(
                "A",
                imaging=[
                    ct("2025-12-31", True),  # before the period
                    ct("2026-01-01", True),  # first day
                    ct("2026-03-01", False, region="chest_abdomen"),
                    ct("2026-05-01", None),  # review not recorded: not reviewed
                    ct("2026-06-01", True, region="spine"),  # targeted CT: not counted
                    {"date": "2026-07-01", "modality": "mri", "region": "spine", "result": "negative"},
                    ct("2026-10-31", True),  # last day
                    ct("2026-11-01", True),  # after the period
                ],
            )
        ],
        "QC-01",
    )
    assert rows == [
        ("A", dt.date(2026, 1, 1), True),
        ("A", dt.date(2026, 3, 1), False),
        ("A", dt.date(2026, 5, 1), False),
        ("A", dt.date(2026, 10, 31), True),
    ]


def test_qc02_every_complete_six_month_window_ending_in_the_period_needs_a_survey() -> None:
    diagnosed = "2025-03-15"  # windows end 2025-09-15, 2026-03-15, 2026-09-15
    result = units(
        [
            record("all", diagnosis=diagnosed, imaging=[scan("2025-10-01"), scan("2026-04-01")]),
            record("gap", diagnosis=diagnosed, imaging=[scan("2025-10-01")]),
            # only the windows ending in the period are judged: the first one is empty
            record("early-gap", diagnosis=diagnosed, imaging=[scan("2025-10-01", "pet_ct"), scan("2026-09-14")]),
            record("young", diagnosis="2026-06-01", imaging=[scan("2026-06-01")]),
            record("resected", diagnosis="2025-03-15", setting="resected"),
            record("died", diagnosis=diagnosed, death="2026-02-01", imaging=[scan("2025-04-01")]),
        ],
        "QC-02",
    )
    assert result == {"all": True, "gap": False, "early-gap": True}


def test_qc02_starts_at_recurrence_clamps_month_ends_and_the_window_end_is_exclusive() -> None:
    # recurrence 2025-08-31: windows end 2026-02-28 (month-end clamp) and 2026-08-31
    result = units(
        [
            record(
                "inside",
                diagnosis="2023-05-01",
                recurrence="2025-08-31",
                imaging=[scan("2026-02-27"), scan("2026-08-30")],
            ),
            record(
                "on-the-end",
                diagnosis="2023-05-01",
                recurrence="2025-08-31",
                imaging=[scan("2026-02-28"), scan("2026-08-30")],
            ),
        ],
        "QC-02",
    )
    # a survey on 2026-02-28 belongs to the second window, leaving the first one empty
    assert result == {"inside": True, "on-the-end": False}


def _le(day: str, months: float) -> dict[str, object]:
    return {"date": day, "ecog": 1, "life_expectancy_months": months}


def test_qc03_first_dose_within_14_days_of_confirmation() -> None:
    bone = confirmed("2026-03-01")
    result = units(
        [
            record("day14", bone=bone, bta=[zol("2026-03-15")]),
            record("day15", bone=bone, bta=[zol("2026-03-16")]),
            record("never", bone=bone),
            record("before", bone=bone, bta=[zol("2026-02-20"), zol("2026-03-20")]),
            # denosumab 60 mg is not a BTA dose (VAL-04)
            record("deno60", bone=bone, bta=[deno("2026-03-05", 60), deno("2026-03-20")]),
            record("short-le", bone=bone, performance=[_le("2026-02-20", 2)]),
            record("le-revised", bone=bone, performance=[_le("2026-01-01", 2), _le("2026-02-25", 6)]),
            record("le-after", bone=bone, performance=[_le("2026-03-02", 2)]),
            record("late", bone=confirmed("2026-10-20"), bta=[zol("2026-10-21")]),
            record("last-day-open", bone=confirmed("2026-10-17"), bta=[zol("2026-10-21")]),
            record("earlier", bone=confirmed("2025-12-31"), bta=[zol("2026-01-02")]),
        ],
        "QC-03",
    )
    assert result == {
        "day14": True,
        "day15": False,
        "never": False,
        "before": False,
        "deno60": False,
        "le-revised": False,
        "le-after": False,
        "last-day-open": True,
    }


def test_qc03b_asymptomatic_means_no_pain_deficit_or_sre_in_the_30_days_up_to_confirmation() -> None:
    bone = confirmed("2026-03-01")

    def pain(day: str, nrs: int) -> dict[str, object]:
        return {"date": day, "bone_pain": nrs, "pain_sites": ["pelvis"]}

    result = units(
        [
            record("treated", bone=bone, bta=[zol("2026-06-01")]),
            record("untreated", bone=bone),
            record("pain", bone=bone, symptoms=[pain("2026-02-15", 3)]),
            record("old-pain", bone=bone, symptoms=[pain("2026-01-15", 3)], bta=[zol("2026-03-02")]),
            record("no-pain-recorded", bone=bone, symptoms=[pain("2026-02-28", 0)]),
            record("fracture", bone=bone, sre=[{"date": "2026-02-27", "kind": "pathologic_fracture"}]),
        ],
        "QC-03b",
    )
    assert result == {
        "treated": True,
        "untreated": False,
        "old-pain": True,
        "no-pain-recorded": False,
    }


def test_qc04_classifies_each_within_course_interval_with_adh04() -> None:
    rows = unit_rows(
        [
            record(
                "zol",
                bta=[zol("2026-01-05"), zol("2026-02-02"), zol("2026-03-16"), zol("2026-04-01")],
            ),
            record("switch", bta=[zol("2026-01-05"), deno("2026-02-02")]),
            record(
                "stopped",
                bta=[zol("2026-01-05"), zol("2026-05-01")],
                bta_stop=[{"date": "2026-01-20", "reason": "cost"}],
            ),
            record("q12w", bta=[zol("2026-01-05", interval=84), zol("2026-03-30", interval=84)]),
            record("deno60", bta=[deno("2026-01-05"), deno("2026-02-02", 60), deno("2026-03-02")]),
            record("across-start", bta=[zol("2025-12-20"), zol("2026-01-17")]),
        ],
        "QC-04",
    )
    assert rows == [
        ("across-start", dt.date(2026, 1, 17), True),
        ("deno60", dt.date(2026, 3, 2), False),  # 56 days after the last 120 mg dose
        ("q12w", dt.date(2026, 3, 30), True),  # 84 days on an 84-day plan
        ("zol", dt.date(2026, 2, 2), True),  # 28 days
        ("zol", dt.date(2026, 3, 16), False),  # 42 days: extended
        ("zol", dt.date(2026, 4, 1), False),  # 16 days: short
    ]


def test_qc05_needs_a_dose_strictly_before_the_first_bone_surgery() -> None:
    bone = confirmed("2026-01-20", site="femur")

    def surgery(day: str) -> dict[str, object]:
        return {"date": day, "kind": "surgery_bone", "site": "femur"}

    result = units(
        [
            record("before", bone=bone, bta=[zol("2026-02-01")], treatments=[surgery("2026-03-01")]),
            record("same-day", bone=bone, bta=[zol("2026-03-01")], treatments=[surgery("2026-03-01")]),
            record("no-met", treatments=[surgery("2026-03-01")]),
            record(
                "first-earlier",
                bone=confirmed("2025-10-01", site="femur"),
                bta=[zol("2025-12-01")],
                treatments=[surgery("2025-11-01"), surgery("2026-04-01")],
            ),
        ],
        "QC-05",
    )
    assert result == {"before": True, "same-day": False}


def test_qc06_bone_survey_from_60_days_before_to_30_days_after_diagnosis() -> None:
    result = units(
        [
            record("d-60", diagnosis="2026-02-01", imaging=[scan("2025-12-03")]),
            record("d-61", diagnosis="2026-02-01", imaging=[scan("2025-12-02")]),
            record("d+30-pet", diagnosis="2026-02-01", imaging=[scan("2026-03-03", "pet_ct")]),
            record("d+31", diagnosis="2026-02-01", imaging=[scan("2026-03-04")]),
            record("ct-only", diagnosis="2026-02-01", imaging=[ct("2026-02-01", True)]),
            record("open-window", diagnosis="2026-10-15", imaging=[scan("2026-10-16")]),
            record("died", diagnosis="2026-02-01", death="2026-02-20"),
            record("old", diagnosis="2025-12-31", imaging=[scan("2026-01-05")]),
        ],
        "QC-06",
    )
    assert result == {"d-60": True, "d-61": False, "d+30-pet": True, "d+31": False, "ct-only": False}


def test_qc07_dental_exam_in_the_90_days_up_to_the_first_dose() -> None:
    bone = confirmed("2026-01-20")

    def dental(day: str) -> dict[str, str]:
        return {"date": day, "result": "ok"}

    result = units(
        [
            record("d-89", bone=bone, dental=[dental("2026-01-01")], bta=[zol("2026-03-31")]),
            record("d-91", bone=bone, dental=[dental("2025-12-30")], bta=[zol("2026-03-31")]),
            record("same-day", bone=bone, dental=[dental("2026-03-31")], bta=[zol("2026-03-31")]),
            record("after", bone=bone, dental=[dental("2026-04-02")], bta=[zol("2026-03-31")]),
            record(
                "started-2025",
                bone=confirmed("2025-11-20"),
                bta=[zol("2025-12-01"), zol("2026-01-01")],
            ),
            record(
                "died",
                bone=bone,
                death="2026-04-01",
                dental=[dental("2026-02-01")],
                bta=[zol("2026-03-01")],
            ),
        ],
        "QC-07",
    )
    assert result == {"d-89": True, "d-91": False, "same-day": True, "after": False, "died": True}


def test_qc08_counts_adh03_tasks_and_leaves_the_numerator_unknown() -> None:
    bone = confirmed("2026-01-20")
    result = units(
        [
            # due 2026-08-29: more than 28 days overdue on 2026-10-31 (ADH-03 fires)
            record("overdue", bone=bone, bta=[zol("2026-07-04"), zol("2026-08-01")]),
            # due 2026-10-10: 21 days overdue, ADH-02 only
            record("late", bone=bone, bta=[zol("2026-09-12")]),
        ],
        "QC-08",
    )
    assert result == {"overdue": None}


def test_qc09_mdt_on_or_after_the_first_trigger() -> None:
    bone = confirmed("2026-01-20")

    def onj(day: str) -> dict[str, object]:
        return {"date": day, "kind": "onj", "stage": 1}

    def mdt(day: str) -> dict[str, object]:
        return {"date": day, "decision": "继续", "attendees": ["oncology"]}

    result = units(
        [
            record("held", bone=bone, adverse_events=[onj("2026-03-01")], mdt=[mdt("2026-03-10")]),
            record("same-day", bone=bone, adverse_events=[onj("2026-03-01")], mdt=[mdt("2026-03-01")]),
            record("before-only", bone=bone, adverse_events=[onj("2026-03-01")], mdt=[mdt("2026-02-01")]),
            record("old-trigger", bone=bone, adverse_events=[onj("2025-11-01")]),
        ],
        "QC-09",
    )
    assert result == {"held": True, "same-day": True, "before-only": False}


def test_qc10_dosed_again_after_an_sre_on_bta() -> None:
    bone = confirmed("2026-01-01")
    doses = [zol("2026-01-05"), zol("2026-02-02")]

    def sre(day: str, kind: str = "pathologic_fracture") -> dict[str, str]:
        return {"date": day, "kind": kind}

    result = units(
        [
            record("continued", bone=bone, bta=[*doses, zol("2026-03-02")], sre=[sre("2026-02-20")]),
            record("stopped-after", bone=bone, bta=doses, sre=[sre("2026-02-20")]),
            record(
                "stopped-before",
                bone=bone,
                bta=doses,
                bta_stop=[{"date": "2026-02-10", "reason": "cost"}],
                sre=[sre("2026-02-20")],
            ),
            record("hypercalcaemia", bone=bone, bta=doses, sre=[sre("2026-02-20", "hypercalcemia")]),
            record("too-recent", bone=bone, bta=doses, sre=[sre("2026-10-01")]),
            record("died", bone=bone, bta=doses, sre=[sre("2026-02-20")], death="2026-03-10"),
            record("before-bta", bone=bone, bta=doses, sre=[sre("2026-01-03")]),
        ],
        "QC-10",
    )
    assert result == {"continued": True, "stopped-after": False}


def test_period_days_are_inclusive() -> None:
    rows = unit_rows([record("A", imaging=[ct("2026-03-01", True)])], "QC-01", dt.date(2026, 3, 1), dt.date(2026, 3, 1))
    assert rows == [("A", dt.date(2026, 3, 1), True)]
    assert START < END


def test_qc09_sees_a_transient_trigger_that_no_longer_holds_on_the_period_end() -> None:
    bone = confirmed("2026-01-20")
    opioid = [{"date": "2026-02-01", "class": "strong_opioid_long", "action": "start"}]

    def pain(day: str, nrs: int) -> dict[str, object]:
        return {"date": day, "bone_pain": nrs, "pain_sites": ["pelvis"]}

    # severe pain on a strong opioid on 2026-03-01 (the MDT-01 pain trigger), relieved by June
    symptoms = [pain("2026-03-01", 8), pain("2026-06-01", 2)]
    mdt = [{"date": "2026-03-05", "decision": "放疗", "attendees": ["oncology", "radiotherapy"]}]
    rows = unit_rows(
        [
            record("discussed", bone=bone, medications=opioid, symptoms=symptoms, mdt=mdt),
            record("not-discussed", bone=bone, medications=opioid, symptoms=symptoms),
            # severe pain without a strong opioid is no trigger
            record("no-opioid", bone=bone, symptoms=symptoms),
        ],
        "QC-09",
    )
    assert rows == [
        ("discussed", dt.date(2026, 3, 1), True),
        ("not-discussed", dt.date(2026, 3, 1), False),
    ]


def test_qc09_replays_each_day_as_known_that_day() -> None:
    # two days of severe pain on a strong opioid, each relieved a month later: each replay day
    # is evaluated with the record as known that day (a later day's facts must not replace an
    # earlier day's), so the first trigger is the first day, and the MDT after it counts
    bone = confirmed("2026-01-20")
    opioid = [{"date": "2026-02-01", "class": "strong_opioid_long", "action": "start"}]

    def pain(day: str, nrs: int) -> dict[str, object]:
        return {"date": day, "bone_pain": nrs, "pain_sites": ["pelvis"]}

    symptoms = [pain("2026-03-01", 8), pain("2026-04-01", 2), pain("2026-07-01", 9), pain("2026-08-01", 2)]
    mdt = [{"date": "2026-03-05", "decision": "放疗", "attendees": ["oncology", "radiotherapy"]}]
    rows = unit_rows(
        [
            record("discussed", bone=bone, medications=opioid, symptoms=symptoms, mdt=mdt),
            record("not-discussed", bone=bone, medications=opioid, symptoms=symptoms),
        ],
        "QC-09",
    )
    assert rows == [
        ("discussed", dt.date(2026, 3, 1), True),
        ("not-discussed", dt.date(2026, 3, 1), False),
    ]
