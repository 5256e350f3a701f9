"""SURG: fracture and instability scores per lesion, prognosis, surgical options (rules.md §10).

Computed per lesion of ``bone_metastasis.lesions`` when the status is confirmed or suspected.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from bonepath.rules.catalogue import rule
from bonepath.rules.expr import is_true, lit, null, str_list, when
from bonepath.rules.facts import SPINE
from bonepath.rules.firing import fire
from bonepath.rules.frame import Frame, shared
from bonepath.rules.lesion_scores import lesions
from bonepath.rules.sources import Mark, ext, gl24
from bonepath.vocab import Family, FindingKind, Severity

MIRELS_SOURCES = (ext("Mirels 1989"), ext("ESMO 2020 [III,B]", Mark.VERIFIED))


@rule(
    "SURG-01",
    family=Family.SURG,
    kind=FindingKind.ACTION,
    severity=Severity.MEDIUM,
    per_item=True,
    kinds=(FindingKind.ACTION, FindingKind.INFO, FindingKind.DATA_NEEDED),
    title=("长骨病灶Mirels评分", "Mirels score of a long-bone lesion"),
    logic=(
        "长骨病灶：部位（上肢1、下肢2、转子周围3）+疼痛（机械性3、NRS≥4为2、否则1）+类型（成骨1、混合2、溶骨3）+皮质受累（<1/3为1、≤2/3为2、否则3）。≥9分预防性内固定（+术后放疗）；8分MDT讨论；≤7分放疗+观察。缺皮质受累或类型时提示补录。",
        "Long-bone lesion: site (upper limb 1, lower limb 2, peritrochanteric 3) + pain (mechanical 3, NRS ≥ 4 2, else 1) + type (blastic 1, mixed 2, lytic 3) + cortical involvement (< 1/3 1, ≤ 2/3 2, else 3). ≥ 9 prophylactic fixation (+ RT-02); 8 borderline → MDT; ≤ 7 RT + observation. Missing cortical involvement or type: data needed.",
    ),
    sources=MIRELS_SOURCES,
    values=("score", "site", "total"),
    kind_values={FindingKind.DATA_NEEDED: ("score", "site", "missing")},
)
def surg01(f: Frame) -> ir.Table:
    les = lesions(f)
    les = les.filter(les.is_long)
    complete = les.mirels.notnull()
    total = les.mirels
    kind = when(
        (~complete, lit("data_needed")), (total >= 8, lit("action")), else_=lit("info")
    )
    severity = when(
        (~complete, lit("medium")), (total >= 9, lit("high")), (total == 8, lit("medium")), else_=lit("low")
    )
    return fire(
        les,
        lit(True),
        item=les.seq.cast("string"),
        kind=kind,
        severity=severity,
        score=lit("mirels"),
        site=les.site,
        total=total.cast("float64"),
        missing=les.mirels_missing,
    )


@rule(
    "SURG-02",
    family=Family.SURG,
    kind=FindingKind.ACTION,
    severity=Severity.MEDIUM,
    per_item=True,
    kinds=(FindingKind.ACTION, FindingKind.INFO, FindingKind.DATA_NEEDED),
    title=("脊柱病灶SINS评分", "SINS of a spine lesion"),
    logic=(
        "脊柱病灶脊柱不稳定肿瘤评分：节段+疼痛+类型+序列+塌陷+后外侧受累。0–6稳定；7–12潜在不稳（外科会诊）；13–18不稳定（危急：2天内外科会诊）。缺节段、序列、塌陷或后外侧信息时提示补录。",
        "Spinal Instability Neoplastic Score of a spine lesion: location + pain + type + alignment + collapse + posterolateral involvement. 0–6 stable; 7–12 potentially unstable (surgical opinion); 13–18 unstable (critical: surgical consultation within 2 days). Missing level, alignment, collapse or posterolateral: data needed.",
    ),
    sources=(ext("Fisher et al., Spine 2010"),),
    values=("score", "site", "total", "category"),
    kind_values={FindingKind.DATA_NEEDED: ("score", "site", "missing")},
)
def surg02(f: Frame) -> ir.Table:
    les = lesions(f)
    les = les.filter(les.is_spine)
    complete = les.sins.notnull()
    total = les.sins
    category = when(
        (total >= 13, lit("unstable")), (total >= 7, lit("potentially_unstable")), else_=lit("stable")
    )
    kind = when((~complete, lit("data_needed")), (total >= 7, lit("action")), else_=lit("info"))
    severity = when(
        (~complete, lit("medium")), (total >= 13, lit("critical")), (total >= 7, lit("medium")), else_=lit("low")
    )
    return fire(
        les,
        lit(True),
        item=les.seq.cast("string"),
        kind=kind,
        severity=severity,
        score=lit("sins"),
        site=les.site,
        total=total.cast("float64"),
        category=category,
        missing=les.sins_missing,
    )


@shared
def tokuhashi(f: Frame) -> ir.Table:
    """Revised Tokuhashi per patient with a spine lesion: total and missing inputs."""
    t = f.facts
    les = f["lesions"]
    counts = les.group_by("pk").aggregate(
        spine_n=les.site.isin(SPINE).sum().cast("int64"),
        extra_n=(~les.site.isin(SPINE)).sum().cast("int64"),
    )
    sym = f["symptoms"]
    fr = sym.filter(sym.frankel.notnull())
    w = ibis.window(group_by="pk", order_by=[fr.date.desc(), fr.seq.desc()])
    fr = fr.mutate(_r=ibis.row_number().over(w))
    fr = fr.filter(fr._r == 0).select(_pk=fr.pk, frankel=fr.frankel)
    lastsym = sym.mutate(_r=ibis.row_number().over(ibis.window(group_by="pk", order_by=[sym.date.desc(), sym.seq.desc()])))
    lastsym = lastsym.filter(lastsym._r == 0).select(_pk2=lastsym.pk, last_neuro=lastsym.neuro_deficit)
    c = counts.select(_pk0=counts.pk, spine_n=counts.spine_n, extra_n=counts.extra_n)
    j = t.join(c, t.pk == c._pk0).filter(lambda x: x.spine_n > 0)
    j = j.left_join(fr, j.pk == fr._pk).left_join(lastsym, j.pk == lastsym._pk2)
    kps = j.kps
    k_score = when((kps >= 80, 2), (kps >= 50, 1), (kps.notnull(), 0), else_=null("int64"))
    extra = when((j.extra_n >= 3, 0), (j.extra_n >= 1, 1), else_=2)
    spine = when((j.spine_n >= 3, 0), (j.spine_n == 2, 1), else_=2)
    visceral = when(
        (j.visceral_metastasis == "unremovable", 0),
        (j.visceral_metastasis == "removable", 1),
        (j.visceral_metastasis == "none", 2),
        else_=null("int64"),
    )
    palsy = when(
        (j.frankel.isin(("A", "B")), 0),
        (j.frankel.isin(("C", "D")), 1),
        (j.frankel == "E", 2),
        (is_true(j.last_neuro == False), 2),  # noqa: E712 - SQL comparison, not identity
        else_=null("int64"),
    )
    total = (k_score + extra + spine + visceral + palsy).cast("int64")  # primary lung = 0
    missing = str_list(
        [(k_score.isnull(), "kps"), (visceral.isnull(), "visceral_metastasis"), (palsy.isnull(), "frankel")]
    )
    return j.mutate(toku_total=total, toku_missing=missing)


@rule(
    "SURG-03",
    family=Family.SURG,
    kind=FindingKind.INFO,
    severity=Severity.MEDIUM,
    kinds=(FindingKind.INFO, FindingKind.DATA_NEEDED),
    title=("修订版Tokuhashi预后评分", "Revised Tokuhashi prognostic score"),
    logic=(
        "有脊柱病灶时计算一次：KPS、脊柱外骨转移数、脊柱转移数、内脏转移、原发灶（肺=0）、瘫痪（Frankel）。0–8分<6个月；9–11分≥6个月；12–15分≥1年。缺项时提示补录。",
        "Once, with a spine lesion: KPS, extraspinal bone lesions, vertebral lesions, visceral metastases, primary (lung = 0), palsy (Frankel). 0–8 < 6 months; 9–11 ≥ 6 months; 12–15 ≥ 1 year. Missing input: data needed.",
    ),
    sources=(ext("Tokuhashi 2005"),),
    values=("score", "total", "prognosis"),
    kind_values={FindingKind.DATA_NEEDED: ("score", "missing")},
)
def surg03(f: Frame) -> ir.Table:
    j = tokuhashi(f)
    j = j.filter(j.confirmed | j.suspected)
    total = j.toku_total
    complete = total.notnull()
    prognosis = when(
        (total >= 12, lit("ge_12_months")), (total >= 9, lit("ge_6_months")), else_=lit("lt_6_months")
    )
    return fire(
        j,
        lit(True),
        kind=ibis.ifelse(complete, "info", "data_needed"),
        score=lit("tokuhashi_revised"),
        total=total.cast("float64"),
        prognosis=prognosis,
        missing=j.toku_missing,
    )


@rule(
    "SURG-04",
    family=Family.SURG,
    kind=FindingKind.INFO,
    severity=Severity.LOW,
    title=("孤立骨转移：MDT讨论根治性切除", "Solitary bone metastasis: consider resection at MDT"),
    logic=(
        "骨转移确诊且仅一处病灶：可在MDT讨论根治性手术切除。",
        "Confirmed bone metastasis with exactly one lesion: consider radical resection at the MDT.",
    ),
    sources=(gl24("§3.5"),),
    values=("site",),
)
def surg04(f: Frame) -> ir.Table:
    t = f.facts
    return fire(t, t.confirmed & (t.lesion_count == 1), site=t.single_lesion_site)


@rule(
    "SURG-05",
    family=Family.SURG,
    kind=FindingKind.INFO,
    severity=Severity.LOW,
    per_item=True,
    title=("骨盆/髋臼病灶的外科选择", "Pelvic / acetabular lesion: surgical options"),
    logic=(
        "骨盆病灶：骨水泥填充或射频消融联合骨水泥成形；累及髋臼：全髋关节置换。",
        "Pelvic lesion: cement augmentation or RFA + cementoplasty; acetabulum: total hip arthroplasty.",
    ),
    sources=(gl24("§3.5"), gl24("§3.6")),
    values=("site",),
)
def surg05(f: Frame) -> ir.Table:
    les = f.on_facts("lesions", "confirmed", "suspected")
    les = les.filter((les.confirmed | les.suspected) & les.site.isin(("pelvis", "acetabulum")))
    return fire(les, lit(True), item=les.seq.cast("string"), site=les.site)
