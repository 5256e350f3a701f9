"""MDT: referral to the multidisciplinary team (rules.md §11) and the tier-3/4 remote option.

Single triggers are also checked where their rule is tested (DX-04, SURG-01/02/03, RT-05, SAFE-11).
"""

from __future__ import annotations

import pytest

from rules.builders import D, Patient, confirmed_man, lesion, scenario

CM = confirmed_man()

# ---- the pain trigger: NRS >= 7 on a strong opioid --------------------------------------------------

PAIN7 = scenario(
    "mdt01.pain_7_strong_opioid", CM.medication("2026-09-01", "strong_opioid_short").symptoms("2026-09-04", 7), on="2026-09-05"
)
PAIN7_WEAK = scenario(
    "mdt01.pain_7_weak_opioid", CM.medication("2026-09-01", "weak_opioid").symptoms("2026-09-04", 7), on="2026-09-05"
)
PAIN6 = scenario(
    "mdt01.pain_6_strong_opioid", CM.medication("2026-09-01", "strong_opioid_long").symptoms("2026-09-04", 6), on="2026-09-05"
)
PAIN7_STOPPED = scenario(
    "mdt01.pain_7_opioid_stopped",
    CM.medication("2026-08-01", "strong_opioid_long").medication("2026-09-01", "strong_opioid_long", "stop").symptoms("2026-09-04", 7),
    on="2026-09-05",
)


def test_mdt01_severe_pain_on_a_strong_opioid(then) -> None:
    # v1.1: due 14 days after the pain assessment of 2026-09-04
    then(PAIN7).fires(
        "MDT-01", {"triggers": ["PAIN"], "trigger_date": D("2026-09-04")}, kind="action", severity="high", due=D("2026-09-18")
    )


@pytest.mark.parametrize("name", [PAIN7_WEAK, PAIN6, PAIN7_STOPPED])
def test_mdt01_pain_trigger_silent(then, name: str) -> None:
    then(name).silent("MDT-01")


# ---- every trigger at once, in rules.md order ---------------------------------------------------------

ALL = (
    Patient.man()
    .suspected(
        lesion("femur", "lytic", cortical_involvement_pct=70),  # Mirels 2 + 3 (mechanical) + 3 + 3 = 11
        lesion("lumbar_spine", "lytic", level="L1", alignment="subluxation", collapse="gt50", posterolateral="bilateral"),  # SINS 15
    )
    .cancer(visceral_metastasis="none")
    .performance("2026-09-01", ecog=0)  # Tokuhashi 2 + 1 + 2 + 2 + 0 + 2 (Frankel E) = 9
    .bone_scan("2026-08-20", "positive", "rib")
    .ct("2026-08-25", "suspicious", "rib")  # DX-04 (the only imaged site)
    .adverse("2026-09-02", "onj", stage=1)  # SAFE-11
    .medication("2026-09-01", "strong_opioid_short")
    .symptoms("2026-09-04", 7, "femur", neuro=True, mechanical=True, frankel="E")  # RT-05 (spine lesion), PAIN
    .with_(hospital={"id": "H9", "city_tier": "tier3-4", "type": "general"})
)
ALL_TRIGGERS = ["DX-04", "SURG-01", "SURG-02", "SURG-03", "RT-05", "SAFE-11", "PAIN"]
MDT_ALL = scenario("mdt01.all_triggers", ALL, on="2026-09-05")


def test_mdt01_all_triggers_in_order_critical_with_rt05(then) -> None:
    t = then(MDT_ALL)
    # v1.1: the earliest trigger is the lesions' (the bone scan of 2026-08-20: no confirmation date);
    # with RT-05 the MDT is due the day after it, so it is already overdue on 2026-09-05
    t.fires(
        "MDT-01", {"triggers": ALL_TRIGGERS, "trigger_date": D("2026-08-20")}, kind="action", severity="critical", due=D("2026-08-21")
    )
    t.fires("MDT-02", {}, kind="info", severity="low")


# ---- an MDT held on or after the earliest trigger silences it (clarifications C-10) --------------------

ONJ = CM.adverse("2026-09-03", "onj", stage=2)
MDT_BEFORE = scenario("mdt01.meeting_before_trigger", ONJ.mdt("2026-09-02"), on="2026-09-05")
MDT_SAME_DAY = scenario("mdt01.meeting_same_day", ONJ.mdt("2026-09-03"), on="2026-09-05")
MDT_AFTER = scenario("mdt01.meeting_after", ONJ.mdt("2026-09-04"), on="2026-09-05")
MDT_LATER_EVENT = scenario("mdt01.meeting_after_day_is_ignored", ONJ.mdt("2026-09-10"), on="2026-09-05")


def test_mdt01_silenced_by_a_meeting_since_the_trigger(then) -> None:
    then(MDT_BEFORE).fires("MDT-01", {"triggers": ["SAFE-11"], "trigger_date": D("2026-09-03")}, due=D("2026-09-17"))
    then(MDT_SAME_DAY).silent("MDT-01")
    then(MDT_AFTER).silent("MDT-01")
    then(MDT_LATER_EVENT).fires("MDT-01", {"triggers": ["SAFE-11"], "trigger_date": D("2026-09-03")})  # VAL-01


# ---- MDT-02: tier-3/4 hospitals --------------------------------------------------------------------------

TIER12 = scenario("mdt02.tier12", ONJ.with_(hospital={"id": "H1", "city_tier": "tier1-2", "type": "cancer"}), on="2026-09-05")
TIER34_NO_MDT = scenario(
    "mdt02.tier34_without_trigger", CM.with_(hospital={"id": "H9", "city_tier": "tier3-4", "type": "general"}), on="2026-09-05"
)
TIER34_HELD = scenario(
    "mdt02.tier34_meeting_held",
    ONJ.mdt("2026-09-04").with_(hospital={"id": "H9", "city_tier": "tier3-4", "type": "general"}),
    on="2026-09-05",
)


@pytest.mark.parametrize("name", [TIER12, TIER34_NO_MDT, TIER34_HELD])
def test_mdt02_silent(then, name: str) -> None:
    then(name).silent("MDT-02")
