"""RT: radiotherapy for painful bone metastases and the MSCC emergency (rules.md §9)."""

from __future__ import annotations

import ibis.expr.types as ir

from bonepath.rules.catalogue import rule
from bonepath.rules.expr import add_days, is_true, lit, matching, not_matching, within_days_before
from bonepath.rules.facts import LONG_BONES, SPINE
from bonepath.rules.firing import fire
from bonepath.rules.frame import Frame
from bonepath.rules.lesion_scores import lesions
from bonepath.rules.sources import Mark, ext, gl24
from bonepath.vocab import Family, FindingKind, Severity


@rule(
    "RT-01",
    family=Family.RT,
    kind=FindingKind.ACTION,
    severity=Severity.HIGH,
    per_item=True,
    title=("疼痛性骨转移：单次8 Gy外照射", "Painful bone metastasis: single 8 Gy EBRT"),
    logic=(
        "骨转移确诊，疼痛NRS≥4的部位有转移病灶，无病理性骨折/脊髓压迫/神经功能障碍，该部位未做过放疗或手术，且该部位无Mirels≥9（即将骨折）或SINS≥13（脊柱不稳定）的病灶（先外科评估，术后放疗见RT-02）：单次8 Gy外照射。",
        "Confirmed bone metastasis, NRS ≥ 4 at a site with a lesion, no pathologic fracture / cord compression / neurological deficit, no earlier RT or surgery there, and no lesion there with Mirels ≥ 9 (impending fracture) or SINS ≥ 13 (unstable spine) — those go to surgical evaluation first, RT follows by RT-02: EBRT 8 Gy × 1.",
    ),
    sources=(
        ext("ESMO 2020 [I,A]", Mark.VERIFIED),
        gl24("§3.4", "单次8 Gy, 83%"),
        gl24("§3.3.2", "对伴…脊柱受累不稳定的患者行手术干预"),
    ),
    values=("site", "dose_gy", "fractions"),
)
def rt01(f: Frame) -> ir.Table:
    sites = f.on_facts("symptom_sites", "pain_seq", "pain_nrs", "confirmed", "fracture_or_mscc", "pain_neuro")
    sites = sites.filter(sites.seq == sites.pain_seq)
    les = f["lesions"].select("pk", "site").distinct()
    tr = f["treatments"]
    treated = tr.filter(tr.kind.isin(("surgery_bone", "radiotherapy_bone")) & tr.site.notnull())
    treated = treated.select("pk", "site").distinct()
    painful = sites.select("pk", "site", "pain_nrs", "confirmed", "fracture_or_mscc", "pain_neuro").distinct()
    with_lesion = matching(painful, les, ["pk", "site"])
    untreated = not_matching(with_lesion, treated, ["pk", "site"])
    # v1.1: an impending fracture or an unstable spine goes to surgical evaluation first
    les_scores = lesions(f)
    unstable = les_scores.filter(
        (les_scores.is_long & is_true(les_scores.mirels >= 9))
        | (les_scores.is_spine & is_true(les_scores.sins >= 13))
    )
    untreated = not_matching(untreated, unstable.select("pk", "site").distinct(), ["pk", "site"])
    cond = (
        untreated.confirmed
        & is_true(untreated.pain_nrs >= 4)
        & ~untreated.fracture_or_mscc
        & ~is_true(untreated.pain_neuro)
    )
    return fire(
        untreated, cond, item=untreated.site, site=untreated.site, dose_gy=lit(8.0), fractions=lit(1)
    )


@rule(
    "RT-02",
    family=Family.RT,
    kind=FindingKind.ACTION,
    severity=Severity.MEDIUM,
    per_item=True,
    title=("骨转移术后放疗", "Post-operative radiotherapy"),
    logic=(
        "90天内长骨或脊柱骨转移手术，其后该部位无放疗/SBRT：术后放疗。",
        "Bone surgery at a long bone or spine site within 90 days and no later RT/SBRT there: post-operative radiotherapy.",
    ),
    sources=(ext("ESMO 2020 [III,B]", Mark.VERIFIED),),
    values=("site",),
)
def rt02(f: Frame) -> ir.Table:
    tr = f.on_facts("treatments")
    surg = tr.filter(
        (tr.kind == "surgery_bone")
        & tr.site.isin(LONG_BONES + SPINE)
        & within_days_before(tr.date, tr.as_of, 90)
    )
    rt = tr.filter(tr.kind.isin(("radiotherapy_bone", "sbrt_bone")))
    rt = rt.select(_pk=rt.pk, _site=rt.site, _date=rt.date)
    later = surg.join(rt, (surg.pk == rt._pk) & (surg.site == rt._site) & (rt._date >= surg.date))
    done = later.select("pk", "site").distinct()
    pending = not_matching(surg.select("pk", "site").distinct(), done, ["pk", "site"])
    return fire(pending, lit(True), item=pending.site, site=pending.site)


@rule(
    "RT-04",
    family=Family.RT,
    kind=FindingKind.INFO,
    severity=Severity.LOW,
    title=("多发骨痛且已放疗：可考虑锶-89", "Multifocal pain after RT: consider Sr-89"),
    logic=(
        "NRS≥4、疼痛部位≥3处且既往做过骨放疗：可考虑锶-89（需骨髓储备）；镭-223不用于肺癌。",
        "NRS ≥ 4 at ≥ 3 sites after earlier bone radiotherapy: consider Sr-89 (needs marrow reserve); Ra-223 is not for lung cancer.",
    ),
    sources=(gl24("§3.4"),),
    values=("nrs", "site_count"),
)
def rt04(f: Frame) -> ir.Table:
    t = f.facts
    cond = is_true(t.pain_nrs >= 4) & (t.pain_site_count >= 3) & t.has_bone_rt
    return fire(t, cond, nrs=t.pain_nrs, site_count=t.pain_site_count)


@rule(
    "RT-05",
    family=Family.RT,
    kind=FindingKind.ALERT,
    severity=Severity.CRITICAL,
    title=("疑似脊髓压迫：急诊处理", "Suspected spinal cord compression: emergency"),
    logic=(
        "最近一次记录的神经功能障碍（不论多久以前）尚未得到处理——其后既无“无神经功能障碍”的记录，也未完成MRI及脊柱部位放疗/SBRT/手术——且有背痛（该记录前后30天内脊柱部位疼痛）或脊柱病灶：24小时内全脊柱MRI，无禁忌时地塞米松（如16 mg/日），24小时内决定手术/放疗，MDT。次日到期，未处理前一直保留。",
        "The latest recorded neurological deficit, however long ago, not yet answered — no later record without a deficit, nor an MRI and a bone RT / SBRT / surgery at a spine site since — with back pain (a spine pain site within 30 days of it) or a spine lesion: whole-spine MRI within 24 h, dexamethasone (e.g. 16 mg/day) unless contraindicated, surgery/RT decision within 24 h, MDT. Due the next day; stays until answered.",
    ),
    sources=(ext("NICE CG75 (2008) / NG234 (2023); Patchell 2005"), ext("ESMO 2020 (MSCC emergency)", Mark.VERIFIED)),
    values=("mri_within_h", "decision_within_h", "since"),
)
def rt05(f: Frame) -> ir.Table:
    t = f.facts
    return fire(
        t,
        rt05_fires(t),
        due=add_days(t.mscc_date, 1),
        mri_within_h=lit(24),
        decision_within_h=lit(24),
        since=t.mscc_date,
    )


def rt05_fires(t: ir.Table) -> ir.BooleanValue:
    """RT-05 (v1.1): an unanswered deficit (facts ``mscc_date``) with back pain or a spine lesion."""
    return t.mscc_date.notnull() & (t.mscc_back_pain | (t.spine_lesions > 0))

