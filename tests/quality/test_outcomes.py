"""Outcome analyses on hand-built patients: who enters which curve, when an event or a
censoring happens, and what the broad SRE definition adds."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest

from bonepath.quality.outcomes import CAVEAT, analyse, fit_km
from bonepath.quality.run import outcome_table
from quality.support import END, START, confirmed, record, tables, zol


def _sre(day: str, kind: str = "pathologic_fracture") -> dict[str, str]:
    return {"date": day, "kind": kind}


def _cohort() -> list[dict[str, Any]]:
    bone = confirmed("2026-01-01")
    return [
        # prompt start (day 5); fracture on day 100
        record("prompt", bone=bone, bta=[zol("2026-01-06")], sre=[_sre("2026-04-11")]),
        # delayed start (day 60); no SRE; died on day 200
        record("delayed", bone=bone, bta=[zol("2026-03-02")], death="2026-07-20"),
        # never treated; moderate bone pain on day 20 (broad SRE only); hypercalcaemia on day 50
        record(
            "never",
            bone=bone,
            symptoms=[{"date": "2026-01-21", "bone_pain": 5, "pain_sites": ["pelvis"]}],
            sre=[_sre("2026-02-20", "hypercalcemia")],
        ),
        # presented with cord compression the day before confirmation
        record("presenting", bone=bone, sre=[_sre("2025-12-31", "spinal_cord_compression")]),
    ]


@pytest.fixture(scope="module")
def table() -> Any:
    return outcome_table(tables(_cohort()), START, END)


def test_outcome_rows_carry_timing_and_first_events(table: Any) -> None:
    rows = {r["pk"]: r for r in table.to_pylist()}
    assert [rows[k]["timing"] for k in (1, 2, 3, 4)] == ["prompt", "delayed", "never", "never"]
    assert rows[1]["first_sre"] == dt.date(2026, 4, 11)
    assert rows[3]["first_sre"] is None  # hypercalcaemia is not a trial SRE
    assert rows[3]["first_sre_any"] == dt.date(2026, 2, 20)
    assert rows[3]["first_sre_broad"] == dt.date(2026, 1, 21)  # bone pain NRS >= 4
    assert rows[4]["presenting"] is True and rows[2]["death"] == dt.date(2026, 7, 20)
    assert rows[2]["horizon"] == dt.date(2026, 7, 20) and rows[1]["horizon"] == END


def test_time_to_sre_leaves_out_presenting_patients_and_censors_at_death_or_period_end(table: Any) -> None:
    outcomes = analyse(table)
    assert (outcomes.patients, outcomes.presenting) == (4, 1)
    sre = outcomes.analysis("sre", "all").curve("all")
    assert (sre.n, sre.events) == (3, 1)
    assert sre.times[-1] == 303  # "never" followed to 2026-10-31
    assert sre.survival_at(99) == 1.0 and sre.survival_at(100) == pytest.approx(2 / 3)
    timing = outcomes.analysis("sre", "timing")
    assert [(c.group, c.n, c.events) for c in timing.curves] == [("prompt", 1, 1), ("delayed", 1, 0), ("never", 1, 0)]
    broad = outcomes.analysis("sre_broad", "all").curve("all")
    assert broad.events == 2 and broad.survival_at(20) == pytest.approx(2 / 3)


def test_untreated_time_counts_hypercalcaemia_and_censors_at_the_first_dose(table: Any) -> None:
    untreated = analyse(table).analysis("sre_untreated", "all").curve("all")
    # prompt: censored at day 5; delayed: censored at day 60; never: hypercalcaemia on day 50
    assert (untreated.n, untreated.events) == (3, 1)
    assert untreated.survival_at(50) == pytest.approx(1 / 2)


def test_overall_survival_counts_deaths_from_confirmation(table: Any) -> None:
    os_all = analyse(table).analysis("os", "all").curve("all")
    assert (os_all.n, os_all.events) == (4, 1)
    assert os_all.survival_at(200) == pytest.approx(3 / 4)
    assert os_all.at_risk[:3] == (4, 4, 4) and os_all.at_risk[3] == 0  # 4 at 0/90/180 d, none at 365 d


def test_km_confidence_band_contains_the_estimate_and_an_empty_group_is_empty() -> None:
    durations = np.array([10.0, 20, 30, 40, 50, 60, 70, 80])
    observed = np.array([True, False, True, True, False, True, True, False])
    curve = fit_km("all", durations, observed)
    assert all(lo <= s <= hi for s, lo, hi in zip(curve.survival, curve.lower, curve.upper, strict=True))
    assert curve.median_days == 60
    empty = fit_km("never", np.array([]), np.array([], dtype=bool))
    assert (empty.n, empty.median_days, empty.times) == (0, None, ())


def test_the_caveat_says_observational_in_both_languages() -> None:
    assert "观察性" in CAVEAT.zh and "observational" in CAVEAT.en
    assert "immortal-time" in CAVEAT.en and "不朽时间" in CAVEAT.zh
