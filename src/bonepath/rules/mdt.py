"""MDT: when a case goes to the multidisciplinary team (rules.md §11)."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from bonepath.rules.catalogue import rule
from bonepath.rules.diagnosis import dx04_sites
from bonepath.rules.expr import add_days, earliest, is_true, null, str_list, when
from bonepath.rules.firing import fire
from bonepath.rules.frame import Frame, shared
from bonepath.rules.lesion_scores import lesions
from bonepath.rules.radiotherapy import rt05_fires
from bonepath.rules.sources import gl24, system, wp
from bonepath.rules.surgery import tokuhashi
from bonepath.vocab import Family, FindingKind, Severity


@shared
def mdt_triggers(f: Frame) -> ir.Table:
    """Per patient: which MDT-01 triggers hold, the earliest trigger date and the list."""
    t = f.facts
    dx = dx04_sites(f)
    dx = dx.group_by("pk").aggregate(dx_date=dx.last_exam_date.max())
    les = lesions(f)
    surg = les.group_by("pk").aggregate(
        mirels8=(les.is_long & is_true(les.mirels >= 8)).any(),
        sins7=(les.is_spine & is_true(les.sins >= 7)).any(),
        sins13=(les.is_spine & is_true(les.sins >= 13)).any(),
    )
    tok = tokuhashi(f)
    tok = tok.filter(tok.confirmed | tok.suspected)
    tok = tok.select(_pk=tok.pk, toku9=is_true(tok.toku_total >= 9))
    dxs = dx.select(_pk1=dx.pk, dx_date=dx.dx_date)
    su = surg.select(_pk2=surg.pk, mirels8=surg.mirels8, sins7=surg.sins7, sins13=surg.sins13)
    j = t.left_join(dxs, t.pk == dxs._pk1)
    j = j.left_join(su, j.pk == su._pk2)
    j = j.left_join(tok, j.pk == tok._pk)
    dx04 = j.dx_date.notnull()
    mirels = is_true(j.mirels8)
    sins = is_true(j.sins7)
    toku = is_true(j.toku9)
    rt05 = is_true(rt05_fires(j))
    safe11 = j.onj_date.notnull()
    pain = is_true(j.pain_nrs >= 7) & j.strong_opioid_active
    # the date each trigger arose (rules.md §11, v1.1): the exam (DX-04); the lesion's
    # confirmation, else the latest bone survey (SURG-01/02/03; neither recorded: the day, C-10);
    # the symptom (RT-05, pain); the adverse event (SAFE-11)
    lesion_date = ibis.coalesce(j.confirmed_date, j.last_survey_date, j.as_of)
    dates = [
        ibis.ifelse(dx04, j.dx_date, null("date")),
        ibis.ifelse(mirels | sins | toku, lesion_date, null("date")),
        ibis.ifelse(rt05, j.mscc_date, null("date")),
        ibis.ifelse(safe11, j.onj_date, null("date")),
        ibis.ifelse(pain, j.pain_date, null("date")),
    ]
    return j.mutate(
        mdt_list=str_list(
            [
                (dx04, "DX-04"),
                (mirels, "SURG-01"),
                (sins, "SURG-02"),
                (toku, "SURG-03"),
                (rt05, "RT-05"),
                (safe11, "SAFE-11"),
                (pain, "PAIN"),
            ]
        ),
        mdt_any=dx04 | mirels | sins | toku | rt05 | safe11 | pain,
        mdt_rt05=rt05,
        mdt_unstable=is_true(j.sins13),
        mdt_first_trigger=earliest(*dates),
    )


def mdt01_fires(j: ir.Table) -> ir.BooleanValue:
    held_since = is_true(j.last_mdt_date >= j.mdt_first_trigger)
    return j.mdt_any & ~held_since


@rule(
    "MDT-01",
    family=Family.MDT,
    kind=FindingKind.ACTION,
    severity=Severity.HIGH,
    title=("提交骨转移MDT讨论", "Refer to the bone-metastasis MDT"),
    logic=(
        "出现以下任一情况且其后未开MDT：孤立可疑病灶需活检（DX-04）、Mirels≥8、SINS≥7、Tokuhashi≥9、疑似脊髓压迫（RT-05）、颌骨坏死（SAFE-11）、重度疼痛（NRS≥7）且已用强阿片。从最早触发日期起算：脊髓压迫次日、SINS≥13（脊柱不稳定）2天内（危急），其余14天内；未按期召开即逾期。",
        "Any trigger with no MDT held since: uncertain single lesion for biopsy (DX-04), Mirels ≥ 8, SINS ≥ 7, Tokuhashi ≥ 9, suspected cord compression (RT-05), osteonecrosis of the jaw (SAFE-11), severe pain (NRS ≥ 7) on a strong opioid. Counted from the earliest trigger's date: the next day with RT-05, 2 days with SINS ≥ 13 (critical), else 14 days; an MDT that never happens becomes overdue.",
    ),
    sources=(
        wp("MDT", "在骨转移诊断方面面临困难时，可通过骨转移MDT"),
        gl24("§3"),
        system("due = earliest trigger + 1 d (RT-05), + 2 d (SINS ≥ 13), else + 14 d (v1.1)"),
    ),
    values=("triggers", "trigger_date"),
)
def mdt01(f: Frame) -> ir.Table:
    j = mdt_triggers(f)
    days = when((j.mdt_rt05, 1), (j.mdt_unstable, 2), else_=14)
    return fire(
        j,
        mdt01_fires(j),
        due=add_days(j.mdt_first_trigger, days),
        severity=ibis.ifelse(j.mdt_rt05 | j.mdt_unstable, "critical", "high"),
        triggers=j.mdt_list,
        trigger_date=j.mdt_first_trigger,
    )


@rule(
    "MDT-02",
    family=Family.MDT,
    kind=FindingKind.INFO,
    severity=Severity.LOW,
    title=("三四线城市：区域中心远程会诊", "Tier-3/4 city: remote consultation with a regional centre"),
    logic=(
        "需要MDT（MDT-01）且医院位于三四线城市：可通过区域性MDT协作网络远程会诊。",
        "MDT-01 fires and the hospital is in a tier-3/4 city: remote consultation with a regional centre.",
    ),
    sources=(wp("专家组倡议 (区域性MDT协作网络)"), system("proxy")),
    values=(),
)
def mdt02(f: Frame) -> ir.Table:
    j = mdt_triggers(f)
    return fire(j, mdt01_fires(j) & is_true(j.city_tier == "tier3-4"))
