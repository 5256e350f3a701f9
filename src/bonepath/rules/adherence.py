"""ADH: continuous BTA dosing — reminders, overdue doses, follow-up (rules.md §6).

ADH applies to the current drug of an active BTA; ``due`` = latest dose + interval_days (§0).
ADH-01/02/03 do not fire while SAFE-02, SAFE-04, SAFE-05 or SAFE-17 (v1.1) holds that drug (ADH-06).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from bonepath.rules.catalogue import rule
from bonepath.rules.expr import add_days, days_between, is_true, lit
from bonepath.rules.firing import fire
from bonepath.rules.frame import Frame
from bonepath.rules.scores import interval_class
from bonepath.rules.sources import system, wp
from bonepath.vocab import Family, FindingKind, Severity

ADHERENCE = wp("规范用药", "设定自动提醒功能（如注射前3天推送提示）")


def _reminder(t: ir.Table) -> ir.BooleanValue:
    return (t.as_of >= add_days(t.due, -3)) & (t.as_of <= t.due)


def _overdue(t: ir.Table) -> ir.BooleanValue:
    return t.overdue_days >= 1


def _overdue_28(t: ir.Table) -> ir.BooleanValue:
    return t.overdue_days > 28


def _unheld(t: ir.Table, cond: ir.BooleanValue) -> ir.BooleanValue:
    return t.active & is_true(cond) & t.held_by.isnull()


@rule(
    "ADH-01",
    family=Family.ADH,
    kind=FindingKind.REMINDER,
    severity=Severity.MEDIUM,
    title=("骨改良药物即将到期（提前3天提醒）", "Bone-targeted agent due (3-day reminder)"),
    logic=(
        "正在用药，距下次给药日0–3天：提醒患者和护士按时给药。",
        "Active BTA and the next dose is due within 3 days: remind the patient and the nurse.",
    ),
    sources=(ADHERENCE,),
    values=("drug", "due", "reminder_date"),
)
def adh01(f: Frame) -> ir.Table:
    t = f.facts
    return fire(
        t, _unheld(t, _reminder(t)), due=t.due, drug=t.current_drug, reminder_date=add_days(t.due, -3)
    )


@rule(
    "ADH-02",
    family=Family.ADH,
    kind=FindingKind.ALERT,
    severity=Severity.MEDIUM,
    title=("骨改良药物逾期未用", "Bone-targeted agent overdue"),
    logic=("正在用药，已超过应给药日≥1天。", "Active BTA and the dose is ≥ 1 day past due."),
    sources=(wp("规范用药"),),
    values=("drug", "due", "overdue_days"),
)
def adh02(f: Frame) -> ir.Table:
    t = f.facts
    return fire(t, _unheld(t, _overdue(t)), due=t.due, drug=t.current_drug, overdue_days=t.overdue_days)


@rule(
    "ADH-03",
    family=Family.ADH,
    kind=FindingKind.ACTION,
    severity=Severity.HIGH,
    title=("逾期超过4周：主动随访", "More than 4 weeks overdue: call the patient"),
    logic=(
        "逾期>28天：主动联系患者，记录中断原因（费用、安全顾虑、口腔、体能状态、不明）并针对性干预。与ADH-02同时出现。",
        "More than 28 days past due: call the patient, record the reason (cost, safety worry, dental, performance status, unknown) and intervene. Fires with ADH-02.",
    ),
    sources=(wp("规范用药", "对超4周未规范用药的患者主动随访，分析中断原因并针对性干预"), system("D-09")),
    values=("drug", "due", "overdue_days"),
)
def adh03(f: Frame) -> ir.Table:
    t = f.facts
    return fire(t, _unheld(t, _overdue_28(t)), due=t.due, drug=t.current_drug, overdue_days=t.overdue_days)


@rule(
    "ADH-04",
    family=Family.ADH,
    kind=FindingKind.INFO,
    severity=Severity.LOW,
    title=("给药间隔分类", "Dosing interval class"),
    logic=(
        "同一药物≥2次给药：最近两次间隔为标准（地舒单抗27–30天；双膦酸盐21–30天，或84天方案77–91天）、缩短或延长。用于QC-04。",
        "≥ 2 doses of the current drug: the last interval is standard (denosumab 27–30 d; bisphosphonate 21–30 d, or 77–91 d on an 84-day plan), short, or extended. Feeds QC-04.",
    ),
    sources=(wp("规范用药 (Kettle 2018: 27–30 d)"), system("classification")),
    values=("drug", "interval_days", "interval_class"),
)
def adh04(f: Frame) -> ir.Table:
    t = f.facts
    gap = days_between(t.last_dose_date, t.prev_same_dose_date)
    # the plan in force for that interval: the earlier dose's interval_days, else bta_plan, else 28
    planned = ibis.coalesce(t.prev_same_interval_days, t.plan_interval_days, lit(28, "int64"))
    return fire(
        t,
        t.active & t.prev_same_dose_date.notnull(),
        drug=t.current_drug,
        interval_days=gap,
        interval_class=interval_class(t.current_drug, gap, planned),
    )


@rule(
    "ADH-05",
    family=Family.ADH,
    kind=FindingKind.ACTION,
    severity=Severity.MEDIUM,
    title=("长期未给药且无停药记录", "Long gap without a recorded stop"),
    logic=(
        "正在用药但距末次给药超过max(84, 间隔+28)天且无停药记录：记录原因，评估是否重新开始。",
        "Active BTA, more than max(84, interval + 28) days since the latest dose and no stop recorded: document the reason, evaluate restarting.",
    ),
    sources=(wp("规范用药 (premature discontinuation)"), system("threshold")),
    values=("drug", "last_dose_date", "days_since_last_dose"),
)
def adh05(f: Frame) -> ir.Table:
    t = f.facts
    since = days_between(t.as_of, t.last_dose_date)
    limit = ibis.greatest(84, t.interval_days + 28)
    return fire(
        t,
        t.active & (since > limit),
        drug=t.current_drug,
        last_dose_date=t.last_dose_date,
        days_since_last_dose=since,
    )


@rule(
    "ADH-06",
    family=Family.ADH,
    kind=FindingKind.INFO,
    severity=Severity.LOW,
    title=("安全性暂停中：不发用药提醒", "Safety hold: dose reminder suppressed"),
    logic=(
        "本应发出ADH-01/02/03，但SAFE-02、SAFE-04、SAFE-05或SAFE-17暂停了该药：不提醒给药，先处理安全问题。",
        "ADH-01, 02 or 03 would fire but SAFE-02, SAFE-04, SAFE-05 or SAFE-17 holds the drug: no dose reminder until the safety issue is resolved.",
    ),
    sources=(system("ADH-06"),),
    values=("drug", "held_by"),
)
def adh06(f: Frame) -> ir.Table:
    t = f.facts
    would = is_true(_reminder(t)) | is_true(_overdue(t))
    return fire(t, t.active & would & t.held_by.notnull(), drug=t.current_drug, held_by=t.held_by)
