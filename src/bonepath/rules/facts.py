"""Derived facts (rules.md §0): one row per living patient and as-of day, as column expressions.

Rules read these columns instead of re-deriving them: latest weight and creatinine, the BTA
course and its baseline, the effective bone-metastasis status (DX-07), Pain, corrected calcium,
CrCl, and the shared predicates several rules depend on (BTA-01 fires, the SAFE-02/04/05 holds).
Computed in one pass over the scoped tables (:mod:`bonepath.rules.frame`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir

from bonepath.rules.expr import (
    add_days,
    completed_years,
    days_between,
    is_true,
    latest_is_aggregate,
    latest_per_patient,
    latest_reduction,
    lit,
    null,
    round_half_up,
    when,
    within_days_before,
)
from bonepath.rules.scores import (
    corrected_calcium,
    crcl_rounded,
    ecog_to_kps,
    recommended_dose_mg,
)
from bonepath.vocab import (
    BISPHOSPHONATES,
    LONG_BONE_SITES,
    SPINE_SITES,
    DentalResult,
    Drug,
    MedicationClass,
    SreKind,
    TreatmentKind,
)

BONE_SURVEY = ("bone_scan", "pet_ct")
CHEST_REGIONS = ("chest", "chest_abdomen")
ANATOMICAL = ("ct", "mri", "xray", "spect_ct")
CROSS_SECTIONAL = ("ct", "mri", "spect_ct", "pet_ct")
ANALGESICS = (
    MedicationClass.NSAID.value,
    MedicationClass.WEAK_OPIOID.value,
    MedicationClass.STRONG_OPIOID_SHORT.value,
    MedicationClass.STRONG_OPIOID_LONG.value,
)
STRONG_OPIOIDS = (MedicationClass.STRONG_OPIOID_SHORT.value, MedicationClass.STRONG_OPIOID_LONG.value)
MSCC_TREATMENTS = (
    TreatmentKind.RADIOTHERAPY_BONE.value,
    TreatmentKind.SBRT_BONE.value,
    TreatmentKind.SURGERY_BONE.value,
)
SPINE = tuple(s.value for s in SPINE_SITES)
LONG_BONES = tuple(s.value for s in LONG_BONE_SITES)
BISPHOSPHONATE_CODES = tuple(d.value for d in BISPHOSPHONATES)

# rules.md §0 default reference limits when the lab gives none [S]
CALCIUM_LLN = {"mmol/L": 2.10, "mg/dL": 8.5}
CALCIUM_ULN = {"mmol/L": 2.55, "mg/dL": 10.2}
CREATININE_ULN_MG_DL = 1.2
ALP_ULN_U_L = 125.0


def _by_unit(unit: ir.StringValue, table: dict[str, float]) -> ir.FloatingValue:
    return ibis.ifelse(unit == "mmol/L", table["mmol/L"], table["mg/dL"])


def patient_base(patients: ir.Table) -> ir.Table:
    """Top-level record fields as of the day (VAL-01 drops dates after it)."""
    p = patients
    d = p.as_of

    def upto(col: ir.DateValue) -> ir.DateValue:
        return ibis.ifelse(col <= d, col, null("date"))

    confirmed_after = p.bm_confirmed_date > d
    status = ibis.ifelse(
        is_true(confirmed_after) & (p.bm_status == "confirmed"), null("string"), p.bm_status
    )
    return p.select(
        "pk",
        "as_of",
        "source",
        "id",
        "sex",
        "birth_date",
        "smoking",
        "hospital_id",
        "city_tier",
        "hospital_type",
        "department",
        "physician_id",
        "physician_title",
        "setting",
        "diagnosis_date",
        "visceral_metastasis",
        "plan_drug",
        "plan_interval_days",
        *[c for c in p.columns if c.startswith("driver_")],
        is_female=p.sex == "female",
        age_years=completed_years(p.birth_date, d),
        dead=is_true(p.death_date <= d),
        surgery_date=upto(p.surgery_date),
        recurrence_date=upto(p.recurrence_date),
        diabetes=is_true(p.comorbidity_diabetes),
        dialysis=is_true(p.comorbidity_dialysis),
        bm_status_recorded=status,
        bm_confirmed_recorded=upto(p.bm_confirmed_date),
    )


@dataclass
class _Shared:
    """Selections from one source table that DuckDB's and Spark's plans compute in one grouped
    pass (:meth:`Pieces.add_latest`, :meth:`Pieces.add_any`)."""

    table: ir.Table
    latest: list[tuple[ir.BooleanValue | None, bool, dict[str, str]]] = field(default_factory=list)
    any_of: list[tuple[ir.BooleanValue, str]] = field(default_factory=list)

    def grouped(self) -> tuple[ir.Table, dict[str, str]]:
        """One row per patient: every selection as columns, by their fact names."""
        t = self.table
        reductions: dict[str, ir.Value] = {}
        for i, (where, first, columns) in enumerate(self.latest):
            picked = latest_reduction(t, list(dict.fromkeys(columns.values())), where=where, first=first)
            reductions[f"_row{i}"] = picked
        for where, name in self.any_of:
            reductions[name] = where.any()
        g = t.group_by("pk").aggregate(**reductions)
        out: dict[str, ir.Value] = {}
        for i, (_where, _first, columns) in enumerate(self.latest):
            out.update({new: g[f"_row{i}"][old] for new, old in columns.items()})
        out.update({name: g[name] for _where, name in self.any_of})
        return g.select("pk", **out), {name: name for name in out}


class Pieces:
    """Per-patient tables to attach to the base, each built only from scoped event tables.

    Building every piece from the event tables (never from the growing facts table) keeps the
    query a flat chain of left joins, which compiles and plans in linear time. In DuckDB's and
    Spark's plans (:func:`~bonepath.rules.expr.aggregate_latest`) the selections of
    :meth:`add_latest` and :meth:`add_any` from one source table become one grouped pass and
    one join: a grouped aggregate and a join cost DuckDB a few milliseconds each to set up,
    whatever their rows.
    """

    def __init__(self) -> None:
        self.items: list[tuple[ir.Table, dict[str, str]] | _Shared] = []
        self._shared: dict[object, _Shared] = {}

    def add(self, table: ir.Table, **columns: str) -> None:
        self.items.append((table, columns))

    def _share(self, table: ir.Table) -> _Shared:
        key = table.op()
        if key not in self._shared:
            self._shared[key] = _Shared(table)
            self.items.append(self._shared[key])
        return self._shared[key]

    def add_latest(
        self, table: ir.Table, where: ir.BooleanValue | None = None, *, first: bool = False, **columns: str
    ) -> None:
        """``columns`` of each patient's latest (``first``: earliest) row of ``table`` where
        ``where`` holds (VAL-07), as :func:`latest_per_patient` of the filtered table."""
        if latest_is_aggregate():
            self._share(table).latest.append((where, first, columns))
        else:
            chosen = table if where is None else table.filter(where)
            self.add(latest_per_patient(chosen, first=first), **columns)

    def add_any(self, table: ir.Table, where: ir.BooleanValue, name: str) -> None:
        """``name``: whether the patient has a row of ``table`` where ``where`` holds (null
        when not, like a missing piece; the grouped pass may give false instead, so ``name``
        must be one of ``_FALSE_IF_NULL``, which reads both as false)."""
        if name not in _FALSE_IF_NULL:
            raise ValueError(f"{name}: a flag of add_any must be read as false when missing")
        if latest_is_aggregate():
            self._share(table).any_of.append((where, name))
        else:
            self.add(_exists(table.filter(where)), **{name: "hit"})

    def attach_all(self, base: ir.Table) -> ir.Table:
        """One flat chain of left joins on pk (no projection in between, so the SQL stays a
        single SELECT with one JOIN per piece)."""
        joined = base
        keep: dict[str, ir.Value] = {}
        rights = []
        for i, item in enumerate(self.items):
            table, columns = item.grouped() if isinstance(item, _Shared) else item
            key = f"_pk{i}"
            right = table.select(**{key: table.pk}, **{new: table[old] for new, old in columns.items()})
            rights.append((key, right, columns))
            joined = joined.left_join(right, base.pk == right[key])
        keep.update({c: joined[c] for c in base.columns})
        for _key, _right, columns in rights:
            keep.update({new: joined[new] for new in columns})
        return joined.select(**keep)


def _labs(t: Mapping[str, ir.Table], test: str) -> ir.Table:
    labs = t["labs"]
    return labs.filter(labs.test == test)


def _exists(table: ir.Table) -> ir.Table:
    return table.select("pk").distinct().mutate(hit=lit(True))


def _join_pk(events: ir.Table, per_patient: ir.Table, **columns: str) -> ir.Table:
    """Inner-join columns of a per-patient piece onto event rows by pk."""
    right = per_patient.select(_pk=per_patient.pk, **{n: per_patient[c] for n, c in columns.items()})
    return events.join(right, events.pk == right._pk).drop("_pk")


def measurement_pieces(p: Pieces, t: Mapping[str, ir.Table]) -> None:
    """Latest weight, creatinine, calcium (+ paired albumin), performance, Pain (§0)."""
    vitals = t["vitals"]
    weighed = vitals.weight_kg.notnull()
    p.add_latest(vitals, weighed, weight_kg="weight_kg", weight_date="date")
    p.add_latest(vitals, weighed, first=True, earliest_weight="weight_kg")

    scr = _labs(t, "creatinine")
    scr = scr.mutate(uln_std=scr.uln * (scr.value_std / scr.value))
    p.add(latest_per_patient(scr), scr_raw_mg_dl="value_std", scr_date="date", scr_uln_lab="uln_std")

    ca = latest_per_patient(_labs(t, "calcium"))
    p.add(ca, ca_value="value", ca_unit="unit", ca_date="date", ca_lln_lab="lln", ca_uln_lab="uln")
    # SCORE-CCA: the latest albumin dated within 7 days of that calcium [S]
    pair = _join_pk(_labs(t, "albumin"), ca, _ca_date="date")
    pair = pair.filter(days_between(pair.date, pair._ca_date).abs() <= 7).drop("_ca_date")
    p.add(latest_per_patient(pair), alb_g_l="value_std")

    perf = t["performance"]
    p.add_latest(perf, perf.ecog.notnull() | perf.kps.notnull(), ecog="ecog", kps_recorded="kps")
    p.add_latest(
        perf,
        perf.life_expectancy_months.notnull(),
        life_expectancy_months="life_expectancy_months",
    )

    # Pain = the latest symptoms item within 30 days before D (rules.md §0)
    sym = t["symptoms"]
    pain = latest_per_patient(sym.filter(within_days_before(sym.date, sym.as_of, 30)))
    p.add(
        pain,
        pain_seq="seq",
        pain_date="date",
        pain_nrs="bone_pain",
        pain_mechanical="mechanical_pain",
        pain_neuro="neuro_deficit",
    )
    sites = _join_pk(t["symptom_sites"], pain, _seq="seq")
    sites = sites.filter(sites.seq == sites._seq)
    p.add(
        sites.group_by("pk").aggregate(
            n=sites.site.nunique(),
            femur=(sites.site == "femur").any(),
            spine=sites.site.isin(SPINE).any(),
        ),
        pain_site_count="n",
        pain_femur="femur",
        pain_spine="spine",
    )
    p.add_latest(sym, sym.bone_pain.notnull(), last_pain_assessed="date")
    mscc_pieces(p, t)


def mscc_pieces(p: Pieces, t: Mapping[str, ir.Table]) -> None:
    """RT-05 (v1.1): the latest symptoms item with a neurological deficit, at any age, and
    whether it has been answered since — a later item with ``neuro_deficit`` false, or an MRI
    and a bone RT / SBRT / surgery at a spine site both dated on or after it — and whether back
    pain (a spine site among ``pain_sites``) was recorded within 30 days of it."""
    sym = t["symptoms"]
    neuro = latest_per_patient(sym.filter(is_true(sym.neuro_deficit)))
    p.add(neuro, mscc_item_date="date")
    denied = _join_pk(sym.filter(sym.neuro_deficit == False), neuro, _d="date", _s="seq")  # noqa: E712
    denied = denied.filter((denied.date > denied._d) | ((denied.date == denied._d) & (denied.seq > denied._s)))
    p.add(_exists(denied), mscc_denied="hit")
    im = t["imaging"]
    mri = _join_pk(im.filter(im.modality == "mri"), neuro, _d="date")
    p.add(_exists(mri.filter(mri.date >= mri._d)), mscc_mri_after="hit")
    tr = t["treatments"]
    spine_tx = tr.filter(tr.kind.isin(MSCC_TREATMENTS) & tr.site.isin(SPINE))
    spine_tx = _join_pk(spine_tx, neuro, _d="date")
    p.add(_exists(spine_tx.filter(spine_tx.date >= spine_tx._d)), mscc_treated_after="hit")
    sites = t["symptom_sites"]
    back = _join_pk(sites.filter(sites.site.isin(SPINE)), neuro, _d="date")
    p.add(_exists(back.filter(days_between(back.date, back._d).abs() <= 30)), mscc_back_pain="hit")


def bta_pieces(p: Pieces, t: Mapping[str, ir.Table]) -> None:
    """The BTA course: doses, stops, course start and baseline (§0, VAL-07, D-14)."""
    doses = valid_doses(t)
    p.add(doses.group_by("pk").aggregate(n=doses.count(), first=doses.date.min()), n_doses="n", first_dose_date="first")
    last = latest_per_patient(doses)
    p.add(
        last,
        last_dose_date="date",
        current_drug="drug",
        last_dose_mg="dose_mg",
        last_interval_days="interval_days",
    )
    stops = t["bta_stop"]
    p.add_latest(stops, stop_date="date", stop_reason="reason")
    # course start: the first dose after the last stop that precedes the latest dose
    prior = _join_pk(stops, last, _last="date")
    prior = prior.filter(prior.date < prior._last)
    prior_stop = prior.group_by("pk").aggregate(prior_stop=prior.date.max())
    ps = prior_stop.select(_pk=prior_stop.pk, _ps=prior_stop.prior_stop)
    in_course = doses.left_join(ps, doses.pk == ps._pk)
    in_course = in_course.filter(in_course._ps.isnull() | (in_course.date > in_course._ps))
    course_first = in_course.group_by("pk").aggregate(first=in_course.date.min())
    p.add(course_first, course_first_date="first")

    # the previous dose of the current drug (ADH-04: interval between the last two doses)
    same = _join_pk(doses, last, _drug="drug")
    same = same.filter(same.drug == same._drug)
    w = ibis.window(group_by="pk", order_by=[same.date.desc(), same.seq.desc()])
    ranked = same.mutate(_r=ibis.row_number().over(w))
    # the interval between the last two doses was planned at the earlier one (its interval_days,
    # "planned days to the next dose"; clarifications C-16)
    p.add(
        ranked.filter(ranked._r == 1),
        prev_same_dose_date="date",
        prev_same_interval_days="interval_days",
    )

    # baseline SCr and weight: the latest on or before the course's first dose
    scr = _join_pk(_labs(t, "creatinine"), course_first, _first="first")
    scr = scr.filter(scr.date <= scr._first).drop("_first")
    p.add(latest_per_patient(scr), base_scr_raw="value_std", base_scr_date="date")
    vit = t["vitals"].filter(t["vitals"].weight_kg.notnull())
    bw = _join_pk(vit, course_first, _first="first")
    bw = bw.filter(bw.date <= bw._first).drop("_first")
    p.add(latest_per_patient(bw), base_weight_before="weight_kg")

    # SAFE-08: the latest dental item in the 90 days before the first dose ever (or before D)
    firsts = doses.group_by("pk").aggregate(first=doses.date.min())
    fr = firsts.select(_pk=firsts.pk, _first=firsts.first)
    den = t["dental"].left_join(fr, t["dental"].pk == fr._pk)
    ref = ibis.coalesce(den._first, den.as_of)
    pre = den.filter((den.date <= ref) & (days_between(ref, den.date) <= 90))
    p.add(latest_per_patient(pre), dental_window_result="result")


def valid_doses(t: Mapping[str, ir.Table]) -> ir.Table:
    """BTA doses that count (VAL-04: a denosumab dose other than 120 mg does not)."""
    bta = t["bta"]
    return bta.filter((bta.drug != Drug.DENOSUMAB.value) | (bta.dose_mg == 120))


def imaging_pieces(p: Pieces, t: Mapping[str, ir.Table]) -> None:
    """Latest bone survey, MRI, chest CT, recent CT and its review; the baseline window."""
    im = t["imaging"]
    is_survey = im.modality.isin(BONE_SURVEY)
    survey = im.filter(is_survey)
    p.add_latest(im, is_survey, last_survey_date="date")
    p.add_latest(im, im.modality == "mri", last_mri_date="date")
    p.add_latest(im, (im.modality == "ct") & im.region.isin(CHEST_REGIONS), last_chest_ct_date="date")
    p.add_latest(
        im,
        (im.modality == "ct") & within_days_before(im.date, im.as_of, 90),
        recent_ct_date="date",
        recent_ct_reviewed="bone_window_reviewed",
    )
    # SCR-01 window: [diagnosis − 60 d, diagnosis + 30 d]
    pts = t["patients"]
    base = _join_pk(survey, pts, _dx="diagnosis_date")
    base = base.filter((base.date >= add_days(base._dx, -60)) & (base.date <= add_days(base._dx, 30)))
    p.add(_exists(base), baseline_survey_done="hit")


def site_table(t: Mapping[str, ir.Table]) -> ir.Table:
    """Per (patient, site): what imaging says about that site (DX rules)."""
    s = t["imaging_sites"]
    pos = s.result == "positive"
    return s.group_by(["pk", "site"]).aggregate(
        bs_pos_first=s.date.min(where=(s.modality == "bone_scan") & pos),
        anat_pos_first=s.date.min(where=s.modality.isin(ANATOMICAL) & pos),
        pet_pos_first=s.date.min(where=(s.modality == "pet_ct") & pos),
        bs_pos=((s.modality == "bone_scan") & pos).any(),
        cross_sectional=s.modality.isin(CROSS_SECTIONAL).any(),
        xray_negative=((s.modality == "xray") & (s.result == "negative")).any(),
        ct_mri_uncertain=(s.modality.isin(("ct", "mri")) & s.result.isin(("negative", "suspicious"))).any(),
        has_mri=(s.modality == "mri").any(),
        abnormal=s.result.isin(("positive", "suspicious")).any(),
        last_exam_date=s.date.max(),
    )


def status_pieces(p: Pieces, t: Mapping[str, ir.Table]) -> None:
    """DX-07 (confirmation by events) with its earliest date; imaging suspicion; biopsies."""
    sites = site_table(t)
    both = sites.filter(sites.bs_pos_first.notnull() & sites.anat_pos_first.notnull())
    c1 = both.select(
        "pk", "site", crit_date=ibis.greatest(both.bs_pos_first, both.anat_pos_first), crit_order=lit(1)
    )
    pet = sites.filter(sites.pet_pos_first.notnull())
    c2 = pet.select("pk", "site", crit_date=pet.pet_pos_first, crit_order=lit(2))
    # A PET-CT confirms only at a site it names (rules.md §3: "a site is positive in an exam when
    # the exam's result is positive and the site is in its sites"); a positive PET-CT naming no
    # bone site may be the primary tumour and leaves the status suspected (clarifications C-14).
    im = t["imaging"]
    bx = t["biopsy"]
    bx_pos = bx.filter(bx.result == "metastatic_lung")
    c3 = bx_pos.select("pk", "site", crit_date=bx_pos.date, crit_order=lit(3))
    crit = ibis.union(c1, c2, c3)
    p.add(
        latest_per_patient(crit, order=("crit_date", "crit_order", "site"), first=True),
        dx07_date="crit_date",
        dx07_site="site",
    )
    abnormal = sites.filter(sites.abnormal)
    p.add(abnormal.group_by("pk").aggregate(n=abnormal.site.nunique()), abnormal_site_count="n")
    bone_abn = im.modality.isin(BONE_SURVEY) & im.result.isin(("positive", "suspicious"))
    p.add_any(im, bone_abn, "bone_survey_abnormal")
    p.add_any(bx, bx.result == "metastatic_lung", "biopsy_metastatic")
    p.add_any(bx, bx.result != "nondiagnostic", "biopsy_conclusive")


def context_pieces(p: Pieces, t: Mapping[str, ir.Table]) -> None:
    """Medications, treatments, dental, supplements, SREs, adverse events, MDT, lesions."""
    meds = t["medications"]
    # Active = a `start` of the class not followed by a `stop` of the same class (§0)
    w = ibis.window(group_by=["pk", "class"], order_by=[meds.date.desc(), meds.seq.desc()])
    ranked = meds.mutate(_r=ibis.row_number().over(w))
    last = ranked.filter(ranked._r == 0)
    act = last.filter(last.action == "start")
    p.add(
        act.group_by("pk").aggregate(
            nsaid=(act["class"] == MedicationClass.NSAID.value).any(),
            cisplatin=(act["class"] == MedicationClass.CISPLATIN.value).any(),
            strong=act["class"].isin(STRONG_OPIOIDS).any(),
            analgesic_since=act.date.min(where=act["class"].isin(ANALGESICS)),
        ),
        nsaid_active="nsaid",
        cisplatin_active="cisplatin",
        strong_opioid_active="strong",
        analgesic_since="analgesic_since",
    )
    tr = t["treatments"]
    p.add(
        tr.group_by("pk").aggregate(
            targeted=(tr.kind == TreatmentKind.TARGETED.value).any(),
            systemic=tr.kind.isin(("targeted", "chemotherapy", "immunotherapy", "chemo_immunotherapy")).any(),
            ici=tr.kind.isin(("immunotherapy", "chemo_immunotherapy")).any(),
            bone_rt=(tr.kind == TreatmentKind.RADIOTHERAPY_BONE.value).any(),
        ),
        has_targeted="targeted",
        has_systemic="systemic",
        has_ici="ici",
        has_bone_rt="bone_rt",
    )
    dental = t["dental"]
    p.add_latest(dental, last_dental_date="date", last_dental_result="result")
    invasive = (dental.result == DentalResult.INVASIVE_PROCEDURE_DONE.value) & within_days_before(
        dental.date, dental.as_of, 90
    )
    p.add_any(dental, invasive, "invasive_dental_90d")
    p.add_latest(
        t["supplements"], supp_calcium_mg="calcium_mg_daily", supp_vitd_iu="vitamin_d_iu_daily"
    )
    sre = t["sre"]
    fx = sre.kind.isin((SreKind.PATHOLOGIC_FRACTURE.value, SreKind.SPINAL_CORD_COMPRESSION.value))
    p.add_any(sre, fx, "fracture_or_mscc")
    p.add_latest(sre, sre.kind == SreKind.PATHOLOGIC_FRACTURE.value, last_fracture_date="date")
    p.add_latest(sre, last_sre_date="date")
    ae = t["adverse_events"]
    p.add_latest(ae, ae.kind == "onj", onj_date="date", onj_stage="stage")
    p.add_latest(t["mdt"], last_mdt_date="date")
    les = t["lesions"]
    p.add(
        les.group_by("pk").aggregate(
            n=les.count(),
            spine=les.site.isin(SPINE).sum().cast("int64"),
            femur=(les.site == "femur").any(),
            site=les.site.max(),
        ),
        lesion_count="n",
        spine_lesions="spine",
        femur_lesion="femur",
        single_lesion_site="site",
    )


_FALSE_IF_NULL = (
    "mscc_denied",
    "mscc_mri_after",
    "mscc_treated_after",
    "mscc_back_pain",
    "invasive_dental_90d",
    "baseline_survey_done",
    "bone_survey_abnormal",
    "biopsy_metastatic",
    "biopsy_conclusive",
    "nsaid_active",
    "cisplatin_active",
    "strong_opioid_active",
    "has_targeted",
    "has_systemic",
    "has_ici",
    "has_bone_rt",
    "fracture_or_mscc",
    "femur_lesion",
    "pain_femur",
    "pain_spine",
)
_ZERO_IF_NULL = ("n_doses", "lesion_count", "spine_lesions", "pain_site_count", "abnormal_site_count")


def derived_measurements(f: ir.Table) -> ir.Table:
    """Values computed from the attached pieces: rounded SCr, CrCl, corrected Ca, the course."""
    f = f.mutate(
        **{c: f[c].fill_null(False) for c in _FALSE_IF_NULL},
        **{c: f[c].fill_null(0) for c in _ZERO_IF_NULL},
        scr_mg_dl=round_half_up(f.scr_raw_mg_dl, 2),
        scr_uln_mg_dl=f.scr_uln_lab.fill_null(CREATININE_ULN_MG_DL),
        ca_recent=within_days_before(f.ca_date, f.as_of, 30),
        ca_corrected_flag=f.alb_g_l.notnull(),
        cca=corrected_calcium(f.ca_value, f.ca_unit, f.alb_g_l),
        ca_lln=f.ca_lln_lab.fill_null(_by_unit(f.ca_unit, CALCIUM_LLN)),
        ca_uln=f.ca_uln_lab.fill_null(_by_unit(f.ca_unit, CALCIUM_ULN)),
        kps=f.kps_recorded.fill_null(ecog_to_kps(f.ecog)),
        # SAFE-08 (v1.1): an exam in the window clears the start unless it found disease
        dental_before_start=is_true(
            f.dental_window_result.notnull()
            & (f.dental_window_result != DentalResult.NEEDS_TREATMENT.value)
        ),
        # RT-05 (v1.1): the deficit stays open until it is answered
        mscc_date=ibis.ifelse(
            is_true(f.mscc_denied) | (is_true(f.mscc_mri_after) & is_true(f.mscc_treated_after)),
            null("date"),
            f.mscc_item_date,
        ),
        base_scr_mg_dl=round_half_up(f.base_scr_raw, 2),
        base_weight_kg=ibis.coalesce(f.base_weight_before, f.earliest_weight),
        base_age_years=completed_years(f.birth_date, f.base_scr_date),
    )
    return f


def derived_course(f: ir.Table) -> ir.Table:
    """The BTA course state, CrCl now and at baseline, calcium flags."""
    f = f.mutate(
        cca_low=is_true(f.ca_recent & (f.cca < f.ca_lln)),
        cca_high=is_true(f.ca_recent & (f.cca > f.ca_uln)),
        active=(f.n_doses > 0) & (f.stop_date.isnull() | (f.stop_date < f.last_dose_date)),
        has_stop=f.stop_date.notnull(),
        interval_days=when(
            (f.current_drug == Drug.DENOSUMAB.value, lit(28, "int64")),
            else_=ibis.coalesce(f.last_interval_days, f.plan_interval_days, lit(28, "int64")),
        ).cast("int64"),
        planned_drug=ibis.ifelse(f.n_doses > 0, f.current_drug, f.plan_drug),
        # VAL-10: Cockcroft-Gault is not valid on dialysis; renal rules read `renal_severe`
        crcl=ibis.ifelse(
            f.dialysis, null("float64"), crcl_rounded(f.age_years, f.weight_kg, f.scr_raw_mg_dl, f.is_female)
        ),
        base_crcl=ibis.ifelse(
            f.dialysis,
            null("float64"),
            crcl_rounded(f.base_age_years, f.base_weight_kg, f.base_scr_raw, f.is_female),
        ),
    )
    return f


def derived_dosing(f: ir.Table) -> ir.Table:
    """Next due date, the drug shown, the CrCl that sets the dose."""
    f = f.mutate(
        due=add_days(f.last_dose_date, f.interval_days),
        drug_shown=f.planned_drug.fill_null(Drug.ZOLEDRONIC_ACID.value),
        bisphosphonate_active=f.active & f.current_drug.isin(BISPHOSPHONATE_CODES),
        # the dose of a running course uses the baseline CrCl; before the first dose the
        # current one (BTA-03/04/05, D-14)
        dose_crcl=ibis.ifelse(f.active, ibis.coalesce(f.base_crcl, f.crcl), f.crcl),
    )
    return f


def derived_status(f: ir.Table) -> ir.Table:
    """Effective bone-metastasis status (§0) and its date."""
    derived = f.dx07_date.notnull()
    val05 = is_true(f.bm_status_recorded == "none") & derived
    imaging_suspicion = (f.abnormal_site_count > 0) | f.bone_survey_abnormal
    status = when(
        (val05, lit("suspected")),
        (is_true(f.bm_status_recorded == "confirmed") | derived, lit("confirmed")),
        (is_true(f.bm_status_recorded == "suspected") | imaging_suspicion, lit("suspected")),
        else_=ibis.coalesce(f.bm_status_recorded, lit("none")),
    )
    return f.mutate(val05=val05, status=status)


def derived_status_flags(f: ir.Table) -> ir.Table:
    return f.mutate(
        confirmed=f.status == "confirmed",
        suspected=f.status == "suspected",
        confirmed_date=ibis.ifelse(
            f.status == "confirmed", ibis.coalesce(f.bm_confirmed_recorded, f.dx07_date), null("date")
        ),
    )


def add_signals(f: ir.Table) -> ir.Table:
    """Predicates several rules share: BTA-01 fires, the holds (SAFE-02/04/05), MDT inputs."""
    le_short = is_true(f.life_expectancy_months < 3)
    no_bta_yet = f.confirmed & (f.n_doses == 0) & ~f.has_stop & ~f.val05
    f = f.mutate(
        bta01=no_bta_yet & ~le_short,
        bta01c=no_bta_yet & le_short,
        days_since_confirmation=days_between(f.as_of, f.confirmed_date),
    )
    zol = Drug.ZOLEDRONIC_ACID.value
    # SAFE-04 "planned drug zoledronic acid (active, bta_plan, or the BTA-01 default)"
    zol_planned = (f.active & (f.current_drug == zol)) | (
        (f.n_doses == 0) & ((f.plan_drug == zol).fill_null(False) | (f.bta01 & f.plan_drug.isnull()))
    )
    # SAFE-04 (v1.1): CrCl < 30, or SCr >= 3.0 or dialysis (VAL-10), these two without a weight
    safe04 = zol_planned & (is_true(f.crcl < 30) | is_true(f.scr_mg_dl >= 3.0) | f.dialysis)
    # SAFE-17 (v1.1): pamidronate planned (active, or `bta_plan` before any dose) in severe renal
    # impairment (CrCl < 30) or on dialysis
    pam = Drug.PAMIDRONATE.value
    pam_planned = (f.active & (f.current_drug == pam)) | (
        (f.n_doses == 0) & (f.plan_drug == pam).fill_null(False)
    )
    safe17 = pam_planned & (is_true(f.crcl < 30) | f.dialysis)
    rise = round_half_up(f.scr_mg_dl - f.base_scr_mg_dl, 2)
    safe02 = (
        f.active
        & (f.current_drug == zol)
        & is_true(
            ((f.base_scr_mg_dl < 1.4) & (rise >= 0.5))
            | ((f.base_scr_mg_dl >= 1.4) & (rise >= 1.0))
        )
    )
    safe05 = (f.active | f.bta01) & f.cca_low
    f = f.mutate(
        zol_planned=zol_planned,
        safe04=safe04,
        safe02=safe02,
        scr_rise=rise,
        safe05=safe05,
        safe17=safe17,
        held_by=when(
            (safe02, lit("SAFE-02")),
            (safe04, lit("SAFE-04")),
            (safe05, lit("SAFE-05")),
            (safe17, lit("SAFE-17")),
            else_=null("string"),
        ),
        # the BTA-03/04/05 dose of the running course: baseline CrCl, today's age (the age that
        # BTA-05 shows; clarifications C-19); dialysis is dosed as CrCl < 30 (VAL-10)
        recommended_mg=recommended_dose_mg(f.current_drug, f.dose_crcl, f.age_years, f.dialysis),
        overdue_days=days_between(f.as_of, f.due),
        safe12_age=f.age_years > 65,
    )
    return f


Stage = Callable[[ir.Table], ir.Table]
"""Materialize an intermediate facts table and return an unbound table over its result.

Each derivation step reads columns computed by the previous one; without a materialized
boundary ibis would inline every earlier expression into every later one and the SQL would
grow exponentially. The engine runs the stages in order (one query each).
"""


def derive_facts(sources: Mapping[str, ir.Table], stage: Stage) -> ir.Table:
    """The facts table from scoped tables (see :func:`bonepath.rules.frame.scope`)."""
    base = patient_base(sources["patients"])
    base = base.filter(~base.dead)
    pieces = Pieces()
    measurement_pieces(pieces, sources)
    bta_pieces(pieces, sources)
    imaging_pieces(pieces, sources)
    status_pieces(pieces, sources)
    context_pieces(pieces, sources)
    f = stage(pieces.attach_all(base))
    for step in (
        derived_measurements,
        derived_course,
        derived_dosing,
        derived_status,
        derived_status_flags,
        add_signals,
    ):
        f = stage(step(f))
    return f
