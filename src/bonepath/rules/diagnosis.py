"""DX: the diagnostic pathway of a suspected bone metastasis (rules.md §3).

"Anatomical imaging" = CT, MRI, X-ray, SPECT-CT. A site is positive in an exam when the exam's
result is positive and the site is in its ``sites``.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from bonepath.rules.catalogue import rule
from bonepath.rules.expr import is_true, latest_per_patient, lit, not_matching
from bonepath.rules.facts import SPINE, site_table
from bonepath.rules.firing import fire
from bonepath.rules.frame import Frame, shared
from bonepath.rules.screening import markers_high
from bonepath.rules.sources import Mark, ext, gl24, system
from bonepath.vocab import Family, FindingKind, Severity

CONSENSUS_2019 = ext("2019 consensus 单纯骨扫描阳性不能确诊 (secondary copy)", Mark.VERIFIED)


@shared
def _sites(f: Frame) -> ir.Table:
    """Per-site imaging facts of patients whose status is not confirmed, with status columns."""
    s = site_table(f.tables)
    t = f.facts
    right = t.select(
        _pk=t.pk,
        confirmed=t.confirmed,
        suspected=t.suspected,
        biopsy_metastatic=t.biopsy_metastatic,
        biopsy_conclusive=t.biopsy_conclusive,
        abnormal_site_count=t.abnormal_site_count,
    )
    return s.join(right, s.pk == right._pk).drop("_pk")


@shared
def dx01_sites(f: Frame) -> ir.Table:
    s = _sites(f)
    return s.filter(s.bs_pos & ~s.cross_sectional & ~s.biopsy_metastatic & ~s.confirmed)


@rule(
    "DX-01",
    family=Family.DX,
    kind=FindingKind.ACTION,
    severity=Severity.HIGH,
    per_item=True,
    title=("骨扫描阳性部位需断层影像确认", "Bone-scan-positive site needs cross-sectional imaging"),
    logic=(
        "骨扫描阳性的部位尚无CT、MRI、SPECT-CT或PET-CT，亦无骨活检证实：单纯骨扫描阳性不能确诊（状态为疑似），请对该部位行CT检查。",
        "A site positive on a bone scan with no CT, MRI, SPECT-CT or PET-CT of it and no biopsy: a bone scan alone cannot confirm (status suspected); image the site with CT.",
    ),
    sources=(CONSENSUS_2019,),
    values=("site", "modality"),
)
def dx01(f: Frame) -> ir.Table:
    s = dx01_sites(f)
    return fire(s, lit(True), item=s.site, site=s.site, modality=lit("ct"))


@rule(
    "DX-02",
    family=Family.DX,
    kind=FindingKind.ACTION,
    severity=Severity.HIGH,
    per_item=True,
    title=("骨扫描阳性而X线阴性：行CT", "Bone scan positive, X-ray negative: CT"),
    logic=(
        "DX-01的部位X线检查为阴性：通常可行CT进一步明确。",
        "A DX-01 site whose X-ray is negative: CT is usually the next step.",
    ),
    sources=(gl24("§2.1", "BS阳性而X线阴性…通常可行CT"),),
    values=("site", "modality"),
)
def dx02(f: Frame) -> ir.Table:
    s = dx01_sites(f)
    return fire(s, s.xray_negative, item=s.site, site=s.site, modality=lit("ct"))


@rule(
    "DX-03",
    family=Family.DX,
    kind=FindingKind.ACTION,
    severity=Severity.MEDIUM,
    title=("多处骨异常：可行PET-CT", "Several abnormal bone sites: PET-CT"),
    logic=(
        "疑似骨转移，最近一次骨扫描显示≥2处部位（或病灶数≥2）：可行PET/CT。",
        "Suspected bone metastasis and the latest bone scan shows ≥ 2 sites (or lesion_count ≥ 2): PET-CT.",
    ),
    sources=(gl24("§2.1", "多处骨异常病灶患者可行PET/CT"),),
    values=("modality",),
)
def dx03(f: Frame) -> ir.Table:
    im = f.on_facts("imaging", "suspected")
    bs = im.filter(im.modality == "bone_scan")
    sites = f["imaging_sites"]
    n_sites = sites.group_by(["pk", "seq"]).aggregate(n=sites.site.nunique())
    right = n_sites.select(_pk=n_sites.pk, _seq=n_sites.seq, _n=n_sites.n)
    joined = bs.left_join(right, (bs.pk == right._pk) & (bs.seq == right._seq))
    latest = latest_per_patient(joined.drop("_pk", "_seq"))
    many = (latest._n.fill_null(0) >= 2) | is_true(latest.lesion_count >= 2)
    return fire(latest, latest.suspected & many, modality=lit("pet_ct"))


@rule(
    "DX-04",
    family=Family.DX,
    kind=FindingKind.ACTION,
    severity=Severity.HIGH,
    title=("孤立可疑骨病灶：骨活检", "Single uncertain bone lesion: biopsy"),
    logic=(
        "疑似骨转移且仅一处可疑部位，该部位CT或MRI为阴性或可疑（断层影像后仍不能确诊），尚无明确的活检结果：行骨活检，并提交MDT。",
        "Suspected bone metastasis at one site only, whose CT or MRI is negative or suspicious (still uncertain after cross-sectional imaging), no conclusive biopsy: bone biopsy, and MDT.",
    ),
    sources=(gl24("§2.2", "孤立性骨转移 → 骨活检"), system("no conclusive biopsy yet")),
    values=("site", "procedure"),
)
def dx04(f: Frame) -> ir.Table:
    s = dx04_sites(f)
    return fire(s, lit(True), site=s.site, procedure=lit("biopsy"))


@shared
def dx04_sites(f: Frame) -> ir.Table:
    """The single uncertain site of patients meeting DX-04 (also an MDT-01 trigger)."""
    s = _sites(f)
    return s.filter(
        s.suspected
        & (s.abnormal_site_count == 1)
        & s.abnormal
        & s.ct_mri_uncertain
        & ~s.biopsy_conclusive
    )


@rule(
    "DX-05",
    family=Family.DX,
    kind=FindingKind.ACTION,
    severity=Severity.MEDIUM,
    per_item=True,
    title=("脊柱可疑病灶：行MRI", "Suspected spine lesion: MRI"),
    logic=(
        "疑似骨转移位于脊柱（颈、胸、腰椎或骶骨；影像异常或已列出的病灶），该部位尚无MRI：行MRI。",
        "Suspected bone metastasis at a spine site (abnormal on imaging or a listed lesion) with no MRI of it: MRI.",
    ),
    sources=(gl24("§2.1"),),
    values=("site", "modality"),
)
def dx05(f: Frame) -> ir.Table:
    s = _sites(f)
    imaged = s.filter(s.suspected & s.abnormal & s.site.isin(SPINE)).select("pk", "site")
    # a suspected spine site is one abnormal on imaging or one listed among the lesions of a
    # suspected patient (clarifications C-17)
    les = f.on_facts("lesions", "suspected")
    listed = les.filter(les.suspected & les.site.isin(SPINE)).select("pk", "site")
    suspected_sites = ibis.union(imaged, listed, distinct=True)
    with_mri = s.filter(s.has_mri).select("pk", "site")
    pending = not_matching(suspected_sites, with_mri, ["pk", "site"])
    return fire(pending, lit(True), item=pending.site, site=pending.site, modality=lit("mri"))


@rule(
    "DX-06",
    family=Family.DX,
    kind=FindingKind.INFO,
    severity=Severity.LOW,
    title=("骨代谢标志物仅提示检查", "Bone markers only prompt imaging"),
    logic=(
        "与SCR-07同时出现：骨代谢标志物可触发影像检查，但不能用于确诊、决定剂量或停药。",
        "With SCR-07: markers can trigger imaging but never set the status, a dose or a stop.",
    ),
    sources=(
        gl24("§2.2", "标志物尚未被纳入指南推荐"),
        ext("ESMO 2020 [III,B] (summary)", Mark.VERIFIED),
        system("D-06"),
    ),
    values=("tests",),
)
def dx06(f: Frame) -> ir.Table:
    m = markers_high(f)
    return fire(m, lit(True), tests=m.tests)


@rule(
    "DX-07",
    family=Family.DX,
    kind=FindingKind.INFO,
    severity=Severity.MEDIUM,
    title=("影像/活检已满足骨转移确诊标准", "Imaging/biopsy confirm bone metastasis"),
    logic=(
        "记录状态为空或“疑似”，但同一部位骨扫描与解剖影像均阳性，或PET-CT阳性，或骨活检为肺癌转移：视为确诊，日期为首次满足标准之日。",
        "Status absent or suspected, but a site is positive on a bone scan and on anatomical imaging, or PET-CT is positive, or a biopsy shows metastatic lung cancer: confirmed, dated when first met.",
    ),
    sources=(CONSENSUS_2019,),
    values=("confirmed_date", "site"),
)
def dx07(f: Frame) -> ir.Table:
    t = f.facts
    recorded = t.bm_status_recorded
    cond = t.dx07_date.notnull() & (recorded.isnull() | (recorded == "suspected"))
    return fire(t, cond, confirmed_date=t.dx07_date, site=t.dx07_site)
