"""RT: radiotherapy for painful bone metastases and the MSCC emergency (rules.md §9)."""

from __future__ import annotations

import datetime as dt

import pytest

from rules.builders import D, Patient, lesion, scenario

CONF = Patient.man().confirmed("2026-02-01", lesion("rib"), lesion("thoracic_spine", level="T8"))

# ---- RT-01: single 8 Gy for a painful lesion ---------------------------------------------------------

EBRT = {"dose_gy": 8.0, "fractions": 1}
R01 = scenario("rt01.rib_nrs_7", CONF.symptoms("2026-03-01", 7, "rib"), on="2026-03-02")
R01_TWO = scenario("rt01.two_sites_nrs_4", CONF.symptoms("2026-03-01", 4, "rib", "thoracic_spine", "femur"), on="2026-03-02")
R01_NRS3 = scenario("rt01.nrs_3", CONF.symptoms("2026-03-01", 3, "rib"), on="2026-03-02")
R01_NO_LESION = scenario("rt01.no_lesion_at_site", CONF.symptoms("2026-03-01", 7, "femur"), on="2026-03-02")
R01_RT_DONE = scenario(
    "rt01.rt_done_at_site", CONF.treatment("2026-02-10", "radiotherapy_bone", "rib", dose_gy=8, fractions=1)
    .symptoms("2026-03-01", 7, "rib", "thoracic_spine"),
    on="2026-03-02",
)
R01_SURGERY = scenario(
    "rt01.surgery_at_site", CONF.treatment("2026-02-10", "surgery_bone", "rib").symptoms("2026-03-01", 7, "rib"), on="2026-03-02"
)
R01_FRACTURE = scenario(
    "rt01.pathologic_fracture", CONF.sre("2026-02-15", "pathologic_fracture").symptoms("2026-03-01", 7, "rib"), on="2026-03-02"
)
R01_MSCC = scenario(
    "rt01.cord_compression", CONF.sre("2026-02-15", "spinal_cord_compression").symptoms("2026-03-01", 7, "rib"), on="2026-03-02"
)
R01_OTHER_SRE = scenario(
    "rt01.radiation_sre_elsewhere", CONF.sre("2026-02-15", "radiation_to_bone").symptoms("2026-03-01", 7, "rib"), on="2026-03-02"
)
R01_NEURO = scenario("rt01.neuro_deficit", CONF.symptoms("2026-03-01", 7, "rib", neuro=True), on="2026-03-02")
R01_SUSPECTED = scenario(
    "rt01.suspected", Patient.man().suspected(lesion("rib")).symptoms("2026-03-01", 7, "rib"), on="2026-03-02"
)


def test_rt01_single_fraction_per_painful_lesion(then) -> None:
    then(R01).fires("RT-01", {"site": "rib", **EBRT}, kind="action", severity="high")
    then(R01_TWO).fires_items("RT-01", [{"site": "rib", **EBRT}, {"site": "thoracic_spine", **EBRT}])
    then(R01_RT_DONE).fires_items("RT-01", [{"site": "thoracic_spine", **EBRT}])
    then(R01_OTHER_SRE).fires("RT-01", {"site": "rib", **EBRT})


@pytest.mark.parametrize("name", [R01_NRS3, R01_NO_LESION, R01_SURGERY, R01_FRACTURE, R01_MSCC, R01_NEURO, R01_SUSPECTED])
def test_rt01_silent(then, name: str) -> None:
    then(name).silent("RT-01")


# ---- RT-02: post-operative radiotherapy ---------------------------------------------------------------

OPERATED = CONF.treatment("2026-01-01", "surgery_bone", "femur")
R02 = scenario("rt02.femur_90_days", OPERATED, on="2026-04-01")
R02_91 = scenario("rt02.femur_91_days", OPERATED, on="2026-04-02")
R02_SPINE = scenario("rt02.spine", CONF.treatment("2026-03-01", "surgery_bone", "lumbar_spine"), on="2026-03-05")
R02_RIB = scenario("rt02.rib", CONF.treatment("2026-03-01", "surgery_bone", "rib"), on="2026-03-05")
R02_PELVIS = scenario("rt02.pelvis", CONF.treatment("2026-03-01", "surgery_bone", "pelvis"), on="2026-03-05")
R02_RT_AFTER = scenario("rt02.rt_after", OPERATED.treatment("2026-01-20", "radiotherapy_bone", "femur"), on="2026-02-01")
R02_SBRT_AFTER = scenario("rt02.sbrt_after", OPERATED.treatment("2026-01-20", "sbrt_bone", "femur"), on="2026-02-01")
R02_RT_BEFORE = scenario(
    "rt02.rt_before", CONF.treatment("2025-12-01", "radiotherapy_bone", "femur").treatment("2026-01-01", "surgery_bone", "femur"),
    on="2026-02-01",
)
R02_RT_ELSEWHERE = scenario("rt02.rt_elsewhere", OPERATED.treatment("2026-01-20", "radiotherapy_bone", "rib"), on="2026-02-01")


@pytest.mark.parametrize(("name", "site"), [(R02, "femur"), (R02_SPINE, "lumbar_spine"), (R02_RT_BEFORE, "femur"), (R02_RT_ELSEWHERE, "femur")])
def test_rt02_post_operative_radiotherapy(then, name: str, site: str) -> None:
    then(name).fires("RT-02", {"site": site}, kind="action", severity="medium")


@pytest.mark.parametrize("name", [R02_91, R02_RIB, R02_PELVIS, R02_RT_AFTER, R02_SBRT_AFTER])
def test_rt02_silent(then, name: str) -> None:
    then(name).silent("RT-02")


# ---- RT-04: multifocal pain after radiotherapy: Sr-89 -------------------------------------------------

RADIATED = CONF.treatment("2025-12-01", "radiotherapy_bone", "rib")
R04 = scenario("rt04.three_sites", RADIATED.symptoms("2026-03-01", 5, "rib", "pelvis", "sternum"), on="2026-03-02")
R04_TWO = scenario("rt04.two_sites", RADIATED.symptoms("2026-03-01", 5, "rib", "pelvis"), on="2026-03-02")
R04_NO_RT = scenario("rt04.no_rt", CONF.symptoms("2026-03-01", 5, "rib", "pelvis", "sternum"), on="2026-03-02")
R04_NRS3 = scenario("rt04.nrs_3", RADIATED.symptoms("2026-03-01", 3, "rib", "pelvis", "sternum"), on="2026-03-02")


def test_rt04_consider_sr89(then) -> None:
    then(R04).fires("RT-04", {"nrs": 5, "site_count": 3}, kind="info", severity="low")


@pytest.mark.parametrize("name", [R04_TWO, R04_NO_RT, R04_NRS3])
def test_rt04_silent(then, name: str) -> None:
    then(name).silent("RT-04")


# ---- RT-05: suspected spinal cord compression ----------------------------------------------------------

NOSTATUS = Patient.man()
R05_BACK = scenario(
    "rt05.back_pain", NOSTATUS.symptoms("2026-02-20", 6, "lumbar_spine").symptoms("2026-03-01", None, neuro=True), on="2026-03-02"
)
R05_LESION = scenario("rt05.spine_lesion", CONF.symptoms("2026-02-25", 2, "rib", neuro=True), on="2026-03-02")
R05_NO_SPINE = scenario("rt05.no_spine", NOSTATUS.symptoms("2026-03-01", 5, "femur", neuro=True), on="2026-03-02")
# back pain within 30 days of the deficit (v1.1: of that item, not of the day)
R05_BACK_30 = scenario(
    "rt05.back_pain_30_days_before_the_deficit",
    NOSTATUS.symptoms("2026-01-30", 6, "lumbar_spine").symptoms("2026-03-01", None, neuro=True),
    on="2026-03-20",
)
R05_BACK_31 = scenario(
    "rt05.back_pain_31_days_before_the_deficit",
    NOSTATUS.symptoms("2026-01-29", 6, "lumbar_spine").symptoms("2026-03-01", None, neuro=True),
    on="2026-03-02",
)
# v1.1: the alert stays until it is answered
DEFICIT = CONF.symptoms("2026-02-10", 5, "thoracic_spine", neuro=True)
R05_20D = scenario("rt05.unanswered_20_days", DEFICIT, on="2026-03-02")
R05_DENIED = scenario("rt05.later_no_deficit", DEFICIT.symptoms("2026-02-12", 3, "thoracic_spine", neuro=False), on="2026-03-02")
R05_PAIN_ONLY = scenario(
    "rt05.later_item_silent_on_deficit", DEFICIT.symptoms("2026-02-12", 3, "thoracic_spine"), on="2026-03-02"
)
R05_MRI_ONLY = scenario("rt05.mri_without_treatment", DEFICIT.mri("2026-02-10", "positive", "thoracic_spine"), on="2026-03-02")
R05_TREATED = scenario(
    "rt05.mri_and_spine_radiotherapy",
    DEFICIT.mri("2026-02-10", "positive", "thoracic_spine").treatment("2026-02-11", "radiotherapy_bone", "thoracic_spine", dose_gy=8, fractions=1),
    on="2026-03-02",
)
R05_TREATED_BEFORE = scenario(
    "rt05.treatment_before_the_deficit",
    CONF.treatment("2026-02-01", "radiotherapy_bone", "thoracic_spine", dose_gy=8, fractions=1)
    .symptoms("2026-02-10", 5, "thoracic_spine", neuro=True)
    .mri("2026-02-10", "positive", "thoracic_spine"),
    on="2026-03-02",
)
R05_RIB_RT = scenario(
    "rt05.mri_and_rib_radiotherapy",
    DEFICIT.mri("2026-02-10", "positive", "thoracic_spine").treatment("2026-02-11", "radiotherapy_bone", "rib", dose_gy=8, fractions=1),
    on="2026-03-02",
)


@pytest.mark.parametrize("name", [R05_BACK, R05_LESION])
def test_rt05_mscc_emergency(then, name: str) -> None:
    t = then(name)
    since = t.fires("RT-05", kind="alert", severity="critical").values["since"]
    t.fires("RT-05", {"mri_within_h": 24, "decision_within_h": 24, "since": since}, due=since + dt.timedelta(days=1))
    t.fires("MDT-01", {"triggers": ["RT-05"], "trigger_date": since}, severity="critical", due=since + dt.timedelta(days=1))


def test_spinal_cord_compression_noted_20_days_ago_and_never_answered_is_still_critical(then) -> None:
    t = then(R05_20D)
    t.fires(
        "RT-05",
        {"mri_within_h": 24, "decision_within_h": 24, "since": D("2026-02-10")},
        kind="alert",
        severity="critical",
        due=D("2026-02-11"),
    )
    # overdue since 2026-02-11: the MDT was due the day after the deficit
    t.fires("MDT-01", {"triggers": ["RT-05"], "trigger_date": D("2026-02-10")}, severity="critical", due=D("2026-02-11"))


def test_rt05_stays_until_a_later_record_without_deficit_or_mri_and_spine_treatment(then) -> None:
    then(R05_DENIED).silent("RT-05")
    then(R05_PAIN_ONLY).fires("RT-05", {"mri_within_h": 24, "decision_within_h": 24, "since": D("2026-02-10")})
    then(R05_MRI_ONLY).fires("RT-05", {"mri_within_h": 24, "decision_within_h": 24, "since": D("2026-02-10")})
    then(R05_TREATED).silent("RT-05")
    then(R05_TREATED_BEFORE).fires("RT-05")
    then(R05_RIB_RT).fires("RT-05")


def test_rt05_back_pain_within_30_days_of_the_deficit(then) -> None:
    then(R05_BACK_30).fires("RT-05", {"mri_within_h": 24, "decision_within_h": 24, "since": D("2026-03-01")})
    then(R05_BACK_31).silent("RT-05")


@pytest.mark.parametrize("name", [R05_NO_SPINE, R05_BACK_31])
def test_rt05_silent(then, name: str) -> None:
    then(name).silent("RT-05")
