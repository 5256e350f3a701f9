"""SURG: Mirels, SINS, revised Tokuhashi, solitary and pelvic lesions (rules.md §10).

Scores are worked by hand in each case: Mirels = site + pain + type + cortex; SINS = location +
pain + type + alignment + collapse + posterolateral; Tokuhashi = KPS + extraspinal + vertebral +
visceral + primary (lung 0) + palsy.
"""

from __future__ import annotations

import pytest

from rules.builders import D, Patient, lesion, scenario


def confirmed(*lesions: dict, status: str = "confirmed") -> Patient:
    p = Patient.man()
    return p.confirmed("2026-02-01", *lesions) if status == "confirmed" else p.bone_status(status, None, *lesions)


# ---- SURG-01: Mirels (long bones) ---------------------------------------------------------------------

MIRELS = [
    # (name, lesion, symptoms (nrs, sites, mechanical) or None, total, kind, severity)
    ("femur_11", lesion("femur", "lytic", cortical_involvement_pct=70), (6, ("femur",), True), 11, "action", "high"),  # 2+3+3+3
    ("humerus_4", lesion("humerus", "blastic", cortical_involvement_pct=20), None, 4, "info", "low"),  # 1+1+1+1
    ("femur_8", lesion("femur", "mixed", cortical_involvement_pct=50), (5, ("femur",), False), 8, "action", "medium"),  # 2+2+2+2
    ("peritrochanteric_9", lesion("femur", "lytic", cortical_involvement_pct=40, peritrochanteric=True), None, 9, "action", "high"),  # 3+1+3+2
    ("radius_33_3", lesion("radius_ulna", "lytic", cortical_involvement_pct=33.3), None, 7, "info", "low"),  # 1+1+3+2
    ("tibia_33_2", lesion("tibia_fibula", "lytic", cortical_involvement_pct=33.2), None, 7, "info", "low"),  # 2+1+3+1
    ("humerus_66_7", lesion("humerus", "lytic", cortical_involvement_pct=66.7), None, 7, "info", "low"),  # 1+1+3+2
    ("humerus_66_8", lesion("humerus", "lytic", cortical_involvement_pct=66.8), None, 8, "action", "medium"),  # 1+1+3+3
    ("pain_elsewhere", lesion("femur", "blastic", cortical_involvement_pct=10), (8, ("rib",), True), 5, "info", "low"),  # 2+1+1+1
    ("nrs_3_here", lesion("femur", "blastic", cortical_involvement_pct=10), (3, ("femur",), False), 5, "info", "low"),  # 2+1+1+1
]


def with_pain(p: Patient, pain: tuple | None) -> Patient:
    if pain is None:
        return p
    nrs, sites, mechanical = pain
    return p.symptoms("2026-03-01", nrs, *sites, mechanical=mechanical)


M = {name: scenario(f"surg01.{name}", with_pain(confirmed(les), pain), on="2026-03-02") for name, les, pain, *_ in MIRELS}
M_SUSPECTED = scenario("surg01.suspected", confirmed(lesion("humerus", "blastic", cortical_involvement_pct=20), status="suspected"), on="2026-03-02")
M_NONE = scenario("surg01.status_none", confirmed(lesion("humerus", "blastic", cortical_involvement_pct=20), status="none"), on="2026-03-02")
M_NO_CORTEX = scenario("surg01.no_cortex", confirmed(lesion("humerus", "blastic")), on="2026-03-02")
M_NO_KIND = scenario("surg01.no_kind", confirmed(lesion("femur", None, cortical_involvement_pct=50)), on="2026-03-02")
M_TWO = scenario(
    "surg01.two_lesions",
    confirmed(lesion("humerus", "blastic", cortical_involvement_pct=20), lesion("femur", "lytic", cortical_involvement_pct=70)),
    on="2026-03-02",
)


@pytest.mark.parametrize(("name", "total", "kind", "severity"), [(m[0], m[3], m[4], m[5]) for m in MIRELS])
def test_surg01_mirels(then, name: str, total: int, kind: str, severity: str) -> None:
    site = next(m[1]["site"] for m in MIRELS if m[0] == name)
    then(M[name]).fires("SURG-01", {"score": "mirels", "site": site, "total": float(total)}, kind=kind, severity=severity)


def test_surg01_borderline_and_fixation_go_to_mdt(then) -> None:
    # v1.1: counted from the confirmation of the lesions (2026-02-01), so overdue on 2026-03-02
    then(M["femur_8"]).fires("MDT-01", {"triggers": ["SURG-01"], "trigger_date": D("2026-02-01")}, due=D("2026-02-15"))
    then(M["femur_11"]).fires("MDT-01", {"triggers": ["SURG-01"], "trigger_date": D("2026-02-01")})
    then(M["radius_33_3"]).silent("MDT-01")


def test_surg01_data_needed_names_the_missing_inputs(then) -> None:
    then(M_NO_CORTEX).fires(
        "SURG-01", {"score": "mirels", "site": "humerus", "missing": ["cortical_involvement_pct"]}, kind="data_needed"
    )
    then(M_NO_KIND).fires("SURG-01", {"score": "mirels", "site": "femur", "missing": ["kind"]}, kind="data_needed")


def test_surg01_per_lesion_and_status(then) -> None:
    then(M_TWO).fires_items(
        "SURG-01",
        [{"score": "mirels", "site": "humerus", "total": 4.0}, {"score": "mirels", "site": "femur", "total": 9.0}],  # 2+1+3+3
    )
    then(M_SUSPECTED).fires("SURG-01", {"score": "mirels", "site": "humerus", "total": 4.0})
    then(M_NONE).silent("SURG-01", "SURG-02", "SURG-03", "SURG-05")


# ---- SURG-02: SINS (spine) ----------------------------------------------------------------------------

def spine(site: str, level: str | None, kind: str | None, alignment: str | None, collapse: str | None, post: str | None) -> dict:
    fields = {"level": level, "alignment": alignment, "collapse": collapse, "posterolateral": post}
    return lesion(site, kind, **{k: v for k, v in fields.items() if v is not None})


SINS = [
    # (name, lesion, pain, total, category, kind, severity)
    ("t12_8", spine("thoracic_spine", "T12", "lytic", "normal", "lt50", "unilateral"), None, 8, "potentially_unstable", "action", "medium"),  # 3+0+2+0+2+1
    ("l3_6", spine("lumbar_spine", "L3", "lytic", "normal", "lt50", "none"), None, 6, "stable", "info", "low"),  # 2+0+2+0+2+0
    ("l3_7", spine("lumbar_spine", "L3", "lytic", "normal", "lt50", "unilateral"), None, 7, "potentially_unstable", "action", "medium"),
    ("t12_12", spine("thoracic_spine", "T12", "lytic", "deformity", "none_gt50_involved", "bilateral"), (3, ("thoracic_spine",), False), 12, "potentially_unstable", "action", "medium"),  # 3+1+2+2+1+3
    # v1.1: an unstable spine (SINS >= 13) is critical
    ("t12_13", spine("thoracic_spine", "T12", "lytic", "deformity", "lt50", "bilateral"), (3, ("thoracic_spine",), False), 13, "unstable", "action", "critical"),  # 3+1+2+2+2+3
    ("c7_18", spine("cervical_spine", "C7", "lytic", "subluxation", "gt50", "bilateral"), (6, ("cervical_spine",), True), 18, "unstable", "action", "critical"),  # 3+3+2+4+3+3
    ("s3_0", spine("sacrum", "S3", "blastic", "normal", "none", "none"), None, 0, "stable", "info", "low"),
    ("t5_2", spine("thoracic_spine", "T5", "mixed", "normal", "none", "none"), None, 2, "stable", "info", "low"),  # 1+0+1
]
S = {name: scenario(f"surg02.{name}", with_pain(confirmed(les), pain), on="2026-03-02") for name, les, pain, *_ in SINS}
S_MISSING = scenario("surg02.missing", confirmed(spine("lumbar_spine", None, "lytic", None, "lt50", "none")), on="2026-03-02")


@pytest.mark.parametrize(("name", "total", "category", "kind", "severity"), [(s[0], s[3], s[4], s[5], s[6]) for s in SINS])
def test_surg02_sins(then, name: str, total: int, category: str, kind: str, severity: str) -> None:
    site = next(s[1]["site"] for s in SINS if s[0] == name)
    then(S[name]).fires(
        "SURG-02", {"score": "sins", "site": site, "total": float(total), "category": category}, kind=kind, severity=severity
    )


def test_surg02_potentially_unstable_goes_to_mdt(then) -> None:
    then(S["l3_7"]).fires("MDT-01", {"triggers": ["SURG-02"], "trigger_date": D("2026-02-01")}, severity="high", due=D("2026-02-15"))
    then(S["l3_6"]).silent("MDT-01")


def test_surg02_data_needed(then) -> None:
    then(S_MISSING).fires("SURG-02", {"score": "sins", "site": "lumbar_spine", "missing": ["level", "alignment"]}, kind="data_needed")


# ---- SURG-03: revised Tokuhashi -------------------------------------------------------------------------

def tokuhashi(*lesions: dict, visceral: str | None = "none", **perf: int) -> Patient:
    p = confirmed(*lesions)
    if visceral:
        p = p.cancer(visceral_metastasis=visceral)
    if perf:
        p = p.performance("2026-02-20", **perf)
    return p


L2 = lesion("lumbar_spine", "lytic", level="L2")
T8 = lesion("thoracic_spine", "lytic", level="T8")
C5 = lesion("cervical_spine", "lytic", level="C5")
TOKU = [
    # (name, patient, total, prognosis)
    ("base_9", tokuhashi(L2, ecog=1).symptoms("2026-02-25", 0, neuro=False), 9, "ge_6_months"),  # 1+2+2+2+0+2
    ("ecog0_10", tokuhashi(L2, ecog=0).symptoms("2026-02-25", 0, neuro=False), 10, "ge_6_months"),  # 2+2+2+2+0+2
    ("removable_8", tokuhashi(L2, visceral="removable", ecog=2).symptoms("2026-02-25", 0, neuro=False), 8, "lt_6_months"),  # 1+2+2+1+0+2
    (
        "poor_5",
        tokuhashi(L2, lesion("rib"), lesion("femur", cortical_involvement_pct=10), visceral="removable", kps=40)
        .symptoms("2026-02-25", 2, frankel="C"),
        5,
        "lt_6_months",
    ),  # 0+1+2+1+0+1
    ("two_spine_9", tokuhashi(L2, T8, ecog=0).symptoms("2026-02-25", 0, frankel="E"), 9, "ge_6_months"),  # 2+2+1+2+0+2
    (
        "many_2",
        tokuhashi(L2, T8, C5, lesion("rib"), lesion("pelvis"), lesion("sternum"), visceral="unremovable", kps=80)
        .symptoms("2026-02-25", 0, frankel="A"),
        2,
        "lt_6_months",
    ),  # KPS 80: 2; extraspinal >= 3: 0; vertebral >= 3: 0; unremovable 0; lung 0; Frankel A 0
]
T = {name: scenario(f"surg03.{name}", p, on="2026-03-02") for name, p, _, _ in TOKU}
T_NO_VISCERAL = scenario("surg03.no_visceral", tokuhashi(L2, visceral=None, ecog=1).symptoms("2026-02-25", 0, neuro=False), on="2026-03-02")
T_NOTHING = scenario("surg03.nothing_recorded", tokuhashi(L2, visceral=None), on="2026-03-02")
T_NO_SPINE = scenario("surg03.no_spine_lesion", tokuhashi(lesion("rib"), ecog=1), on="2026-03-02")


@pytest.mark.parametrize(("name", "total", "prognosis"), [(n, tot, prog) for n, _, tot, prog in TOKU])
def test_surg03_tokuhashi(then, name: str, total: int, prognosis: str) -> None:
    then(T[name]).fires(
        "SURG-03", {"score": "tokuhashi_revised", "total": float(total), "prognosis": prognosis}, kind="info", severity="medium"
    )


def test_surg03_at_9_goes_to_mdt(then) -> None:
    then(T["base_9"]).fires("MDT-01", {"triggers": ["SURG-03"], "trigger_date": D("2026-02-01")})
    then(T["removable_8"]).silent("MDT-01")


def test_surg03_data_needed(then) -> None:
    then(T_NO_VISCERAL).fires("SURG-03", {"score": "tokuhashi_revised", "missing": ["visceral_metastasis"]}, kind="data_needed")
    then(T_NOTHING).fires(
        "SURG-03", {"score": "tokuhashi_revised", "missing": ["kps", "visceral_metastasis", "frankel"]}, kind="data_needed"
    )
    then(T_NO_SPINE).silent("SURG-03")


# ---- SURG-04 / SURG-05 ------------------------------------------------------------------------------------

S04 = scenario("surg04.solitary", confirmed(lesion("humerus", cortical_involvement_pct=10)), on="2026-03-02")
S04_TWO = scenario("surg04.two", confirmed(lesion("humerus", cortical_involvement_pct=10), lesion("rib")), on="2026-03-02")
S04_SUSP = scenario("surg04.suspected", confirmed(lesion("rib"), status="suspected"), on="2026-03-02")
S04_NONE = scenario("surg04.no_lesion_listed", Patient.man().confirmed("2026-02-01"), on="2026-03-02")
S05 = scenario("surg05.pelvis_acetabulum", confirmed(lesion("pelvis"), lesion("acetabulum", "mixed"), lesion("rib")), on="2026-03-02")
S05_SUSP = scenario("surg05.suspected_pelvis", confirmed(lesion("pelvis"), status="suspected"), on="2026-03-02")


def test_surg04_solitary_lesion(then) -> None:
    then(S04).fires("SURG-04", {"site": "humerus"}, kind="info", severity="low")
    for name in (S04_TWO, S04_SUSP, S04_NONE, S05):
        then(name).silent("SURG-04")


def test_surg05_pelvic_options_per_lesion(then) -> None:
    t = then(S05)
    t.fires_items("SURG-05", [{"site": "pelvis"}, {"site": "acetabulum"}])
    t.fires("SURG-05", item="acetabulum", kind="info", severity="low")
    then(S05_SUSP).fires("SURG-05", {"site": "pelvis"})
    then(S04).silent("SURG-05")
