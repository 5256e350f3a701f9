"""QC-01..QC-11 over a whole registry in one set-based pass (ibis compiled to SQL).

The computation is a list of *stages*, each an ibis expression over tables named like the
store's record tables (:data:`bonepath.record.columns.TABLES`), executed in order, each result
registered under its name for the next — the same scheme as the rule engine
(:mod:`bonepath.engine.plan`), so the same stages run in DuckDB over Arrow tables or inside
PostgreSQL (push-down, :mod:`bonepath.population.quality`):

1. ``context``: the patients whose indicators need a rule-engine fact, each evaluated as of the
   period end (or the day before death: the engine's facts cover living patients only).
2. The engine's own stages for a two-rule catalogue (ADH-03, MDT-01): scoped tables, the
   facts of rules.md §0 and the shared MDT-trigger table. QC-03 reads the effective
   bone-metastasis status and confirmation date, QC-05 the status, QC-07 the fact
   ``dental_before_start`` (what SAFE-08 tests at the first dose), QC-08 the ADH-03 firings,
   QC-09 the MDT-01 triggers and the latest MDT — no rule is written a second time here.
   QC-04 classifies each interval with the ADH-04 classifier
   (:func:`bonepath.rules.scores.interval_class`) and counts doses as the engine does
   (:func:`bonepath.rules.facts.valid_doses`, VAL-04).
3. ``qc_units``: one row per denominator unit of every measure — ``(measure, pk, anchor,
   num)`` — where ``anchor`` is the date that puts the unit in the period and its month.
4. ``qc_strata``: numerator and denominator per measure, overall and per value of each
   stratum (hospital, city tier, hospital type, department, physician title, month).

Only the last (small) table comes back to Python.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

import ibis
import ibis.expr.types as ir

from bonepath.engine.plan import FINDINGS, Plan, build_plan
from bonepath.rules import load_catalogue
from bonepath.rules.catalogue import Catalogue
from bonepath.rules.expr import add_days, days_between, is_true, lit, null
from bonepath.rules.facts import STRONG_OPIOIDS, valid_doses
from bonepath.rules.frame import table_schema, unbound_sources
from bonepath.rules.scores import interval_class
from bonepath.vocab import SreKind

ENGINE_RULES: Final[tuple[str, ...]] = ("ADH-03", "MDT-01")
"""The rules whose firings (ADH-03) or shared inputs (MDT-01's trigger table) QC reads."""

MDT_STAGE: Final = "shared_mdt_mdt_triggers"
"""The engine stage with every fact of rules.md §0 plus the MDT-01 triggers, per patient."""

UNITS: Final = "qc_units"
STRATA_TABLE: Final = "qc_strata"

SURVEY_MODALITIES: Final = ("bone_scan", "pet_ct")
CHEST_REGIONS: Final = ("chest", "chest_abdomen")
TRIAL_SRE: Final[tuple[str, ...]] = tuple(k.value for k in SreKind if k is not SreKind.HYPERCALCEMIA)
"""SREs by the trial definition (rules.md §12): hypercalcaemia is a separate flag."""

STRATUM_COLUMNS: Final[dict[str, str]] = {
    "hospital": "hospital_id",
    "city_tier": "city_tier",
    "hospital_type": "hospital_type",
    "department": "department",
    "physician_title": "physician_title",
}


@dataclass(frozen=True, slots=True)
class Period:
    """The reporting period, both days included."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise ValueError(f"the period starts ({self.start}) after it ends ({self.end})")


# ---- the engine part ---------------------------------------------------------------------------


@cache
def engine_plan() -> Plan:
    """The rule engine's plan for the rules QC reads (facts + MDT triggers + ADH-03/MDT-01)."""
    full = load_catalogue()
    return build_plan(Catalogue([r for r in full if r.id in ENGINE_RULES], full.version))


def _cache_key(dialect: str) -> str:
    from bonepath.engine.plan import _fingerprint

    digest = hashlib.sha256(_fingerprint(dialect).encode())
    digest.update(",".join(ENGINE_RULES).encode())
    return digest.hexdigest()[:24]


@cache
def engine_stages(dialect: str) -> tuple[tuple[str, str], ...]:
    """The SQL of the engine stages QC needs (compiled once, cached on disk like the plan)."""
    from platformdirs import user_cache_dir

    directory = Path(os.environ.get("BONEPATH_CACHE_DIR") or user_cache_dir("bonepath", False))
    path = directory / f"quality-{dialect}-{_cache_key(dialect)}.json"
    try:
        return tuple((name, sql) for name, sql in json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        pass
    compiled = engine_plan().sql(dialect)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=directory, delete=False, encoding="utf-8") as tmp:
            json.dump(compiled, tmp)
        os.replace(tmp.name, path)
    except OSError:
        pass
    return compiled


def _stage_table(name: str) -> ir.Table:
    """An unbound table with the schema of engine stage ``name``."""
    for stage, expr in engine_plan().stages:
        if stage == name:
            return ibis.table(expr.schema(), name=name)
    raise KeyError(name)


# ---- helpers -----------------------------------------------------------------------------------


def _between(day: ir.DateValue, period: Period) -> ir.BooleanValue:
    return is_true((day >= lit(period.start, "date")) & (day <= lit(period.end, "date")))


def _date(value: ir.DateValue) -> ir.DateValue:
    """A real DATE: ibis types ``date + interval`` as a date and elides the cast, but DuckDB
    and PostgreSQL return a timestamp."""
    return value.cast("timestamp").cast("date")


def _unit(
    measure_id: str, table: ir.Table, anchor: ir.DateValue, num: ir.BooleanValue
) -> ir.Table:
    return table.select(
        measure=lit(measure_id),
        pk=table.pk.cast("int64"),
        anchor=_date(anchor),
        num=is_true(num).cast("boolean"),
    )


def _without(left: ir.Table, right: ir.Table, predicate: ir.BooleanValue, marker: str) -> ir.Table:
    """Rows of ``left`` with no match in ``right`` (``right`` distinct, ``marker`` one of its
    never-null columns): written as a left join, as the rule engine does, because ibis
    compiles an anti join to ``LEFT ANTI JOIN``, which PostgreSQL does not know."""
    j = left.left_join(right, predicate)
    return j.filter(j[marker].isnull()).select(*left.columns)


def _first_per_pk(table: ir.Table, column: str = "date") -> ir.Table:
    return table.group_by("pk").aggregate(first=table[column].min())


def _exists(table: ir.Table, name: str = "hit") -> ir.Table:
    return table.group_by("pk").aggregate(**{name: lit(True)})


def _horizon(p: ir.Table, period: Period) -> ir.DateValue:
    """The last day a patient is followed in the period: death or the period end."""
    end = lit(period.end, "date")
    return ibis.ifelse(is_true(p.death_date < end), p.death_date, end)


def context_expr(src: Mapping[str, ir.Table], period: Period) -> ir.Table:
    """Patients whose QC units need an engine fact, as of the period end (or the day before
    death). Only patients with some bone-metastasis evidence, a BTA dose, an ONJ or a
    neurological deficit / severe pain can have one (a superset: leaving the others out only
    saves work; tests compare it with evaluating everyone)."""
    p = src["patients"]
    img = src["imaging"]
    sym = src["symptoms"]
    ae = src["adverse_events"]
    bio = src["biopsy"]
    evidence = ibis.union(
        p.filter(p.bm_status.isin(("confirmed", "suspected"))).select("pk"),
        img.filter(img.result.isin(("positive", "suspicious"))).select("pk"),
        # a site a CT report names with a bone finding (clarifications C-28)
        src["imaging_sites"]
        .filter(src["imaging_sites"].result.isin(("positive", "suspicious")))
        .select("pk"),
        bio.select("pk"),
        src["lesions"].select("pk"),
        src["bta"].select("pk"),
        ae.filter(ae.kind == "onj").select("pk"),
        sym.filter(is_true(sym.neuro_deficit) | is_true(sym.bone_pain >= 7)).select("pk"),
        distinct=True,
    )
    end = lit(period.end, "date")
    j = p.join(evidence, "pk")
    as_of = ibis.ifelse(is_true(j.death_date <= end), add_days(j.death_date, -1), end)
    return j.select(pk=j.pk, as_of=_date(as_of))


# ---- the measures ------------------------------------------------------------------------------


def _qc01(src: Mapping[str, ir.Table], period: Period) -> ir.Table:
    img = src["imaging"]
    ct = img.filter(
        (img.modality == "ct") & img.region.isin(CHEST_REGIONS) & _between(img.date, period)
    )
    return _unit("QC-01", ct, ct.date, ct.bone_window_reviewed)


def _qc11(src: Mapping[str, ir.Table], period: Period) -> ir.Table:
    """Chest CT reports that describe the bones: CT items with ``report_text`` in the period;
    numerator: the report checker reads the text as ``described`` (``report_bone_window``,
    filled when the record is flattened: record/columns.py)."""
    img = src["imaging"]
    ct = img.filter(
        (img.modality == "ct")
        & img.region.isin(CHEST_REGIONS)
        & img.report_bone_window.notnull()
        & _between(img.date, period)
    )
    return _unit("QC-11", ct, ct.date, ct.report_bone_window == "described")


def _qc02(src: Mapping[str, ir.Table], period: Period) -> ir.Table:
    p = src["patients"]
    adv = p.filter(p.setting == "advanced")
    start = ibis.coalesce(adv.recurrence_date, adv.diagnosis_date)
    horizon = _horizon(adv, period)
    months = (horizon.year() - start.year()) * 12 + (horizon.month() - start.month())
    adv = adv.select(pk=adv.pk, start=start, horizon=horizon, k_max=(months / 6).floor().cast("int64"))
    # complete windows k = 0 .. K-1 with start + 6(k+1) months <= horizon
    windows = adv.select(adv.pk, adv.start, adv.horizon, k=ibis.range(0, adv.k_max + 1).unnest())
    windows = windows.mutate(
        low=_date(windows.start + (windows.k * 6).as_interval("M")),
        high=_date(windows.start + ((windows.k + 1) * 6).as_interval("M")),
    )
    windows = windows.filter((windows.high <= windows.horizon) & _between(windows.high, period))
    img = src["imaging"]
    surveys = img.filter(img.modality.isin(SURVEY_MODALITIES)).select(_pk=img.pk, _date=img.date)
    hit = windows.left_join(
        surveys,
        (windows.pk == surveys._pk)
        & (surveys._date >= windows.low)
        & (surveys._date < windows.high),
    )
    covered = hit.group_by(["pk", "k", "high"]).aggregate(ok=hit._pk.notnull().any())
    per = covered.group_by("pk").aggregate(anchor=covered.high.max(), ok=covered.ok.all())
    return _unit("QC-02", per, per.anchor, per.ok)


def _life_expectancy_short(
    src: Mapping[str, ir.Table], people: ir.Table, day_column: str
) -> ir.Table:
    """``pk`` of ``people`` whose latest life expectancy on or before ``day_column`` is < 3."""
    perf = src["performance"]
    le = perf.filter(perf.life_expectancy_months.notnull())
    ref = people.select(_pk=people.pk, _day=people[day_column])
    j = le.join(ref, le.pk == ref._pk)
    j = j.filter(j.date <= j._day)
    ranked = j.mutate(
        _rank=ibis.row_number().over(
            ibis.window(group_by=j.pk, order_by=[j.date.desc(), j.seq.desc()])
        )
    )
    latest = ranked.filter(ranked._rank == 0)
    return latest.filter(latest.life_expectancy_months < 3).select("pk").distinct()


def _confirmed(facts: ir.Table) -> ir.Table:
    c = facts.filter((facts.status == "confirmed") & facts.confirmed_date.notnull())
    return c.select(pk=c.pk, confirmed=c.confirmed_date)


def _qc03(
    src: Mapping[str, ir.Table], facts: ir.Table, doses: ir.Table, period: Period
) -> ir.Table:
    c = _confirmed(facts)
    c = c.filter(
        _between(c.confirmed, period) & (add_days(c.confirmed, 14) <= lit(period.end, "date"))
    )
    short = _life_expectancy_short(src, c, "confirmed").select(_x=ibis._.pk)
    c = _without(c, short, c.pk == short._x, "_x")
    first = _first_per_pk(doses)
    first = first.select(_pk=first.pk, first=first.first)
    j = c.left_join(first, c.pk == first._pk)
    started = days_between(j.first, j.confirmed)
    num = j.first.notnull() & (started >= 0) & (started <= 14)
    return _unit("QC-03", j, j.confirmed, num)


def _qc03b(
    src: Mapping[str, ir.Table], facts: ir.Table, doses: ir.Table, period: Period
) -> ir.Table:
    c = _confirmed(facts)
    c = c.filter(_between(c.confirmed, period))
    short = _life_expectancy_short(src, c, "confirmed").select(_x=ibis._.pk)
    c = _without(c, short, c.pk == short._x, "_x")
    sym = src["symptoms"]
    painful = sym.filter(
        is_true(sym.bone_pain >= 1) | is_true(sym.neuro_deficit) | is_true(sym.mechanical_pain)
    )
    ref = c.select(_pk=c.pk, _c=c.confirmed)
    ps = painful.join(ref, painful.pk == ref._pk)
    ps = ps.filter((ps.date <= ps._c) & (days_between(ps._c, ps.date) <= 30)).select(_x=ps.pk)
    sre = src["sre"]
    ss = sre.join(ref, sre.pk == ref._pk)
    ss = ss.filter(ss.date <= ss._c).select(_x=ss.pk)
    symptomatic = ibis.union(ps, ss, distinct=True)
    c = _without(c, symptomatic, c.pk == symptomatic._x, "_x")
    on = doses.filter(doses.date <= lit(period.end, "date")).select(_x=doses.pk).distinct()
    j = c.left_join(on, c.pk == on._x)
    return _unit("QC-03b", j, j.confirmed, j._x.notnull())


def _dose_pairs(src: Mapping[str, ir.Table], doses: ir.Table) -> ir.Table:
    """Every dose with its predecessor (any drug) and whether a stop lies between them."""
    w = ibis.window(group_by=doses.pk, order_by=[doses.date, doses.seq])
    d = doses.mutate(
        prev_date=doses.date.lag().over(w),
        prev_drug=doses.drug.lag().over(w),
        prev_interval=doses.interval_days.lag().over(w),
    )
    d = d.filter(d.prev_date.notnull() & (d.prev_drug == d.drug))
    stops = src["bta_stop"].select(_pk=ibis._.pk, _stop=ibis._.date)
    cut = d.join(
        stops, (d.pk == stops._pk) & (stops._stop >= d.prev_date) & (stops._stop <= d.date)
    )
    cut = cut.select(_p=cut.pk, _s=cut.seq).distinct()
    return _without(d, cut, (d.pk == cut._p) & (d.seq == cut._s), "_p")


def _qc04(src: Mapping[str, ir.Table], doses: ir.Table, period: Period) -> ir.Table:
    pairs = _dose_pairs(src, doses)
    pairs = pairs.filter(_between(pairs.date, period))
    p = src["patients"].select(_pk=ibis._.pk, _plan=ibis._.plan_interval_days)
    j = pairs.left_join(p, pairs.pk == p._pk)
    planned = ibis.coalesce(j.prev_interval, j._plan, lit(28, "int64"))
    gap = days_between(j.date, j.prev_date)
    return _unit("QC-04", j, j.date, interval_class(j.drug, gap, planned) == "standard")


def _qc05(
    src: Mapping[str, ir.Table], facts: ir.Table, doses: ir.Table, period: Period
) -> ir.Table:
    tr = src["treatments"]
    surgery = _first_per_pk(tr.filter(tr.kind == "surgery_bone"))
    surgery = surgery.filter(_between(surgery.first, period))
    met = facts.filter(facts.status.isin(("confirmed", "suspected"))).select(_m=ibis._.pk)
    surgery = surgery.join(met, surgery.pk == met._m).drop("_m")
    first_dose = _first_per_pk(doses).select(_pk=ibis._.pk, _dose=ibis._.first)
    j = surgery.left_join(first_dose, surgery.pk == first_dose._pk)
    return _unit("QC-05", j, j.first, is_true(j._dose < j.first))


def _qc06(src: Mapping[str, ir.Table], period: Period) -> ir.Table:
    p = src["patients"]
    new = p.filter(_between(p.diagnosis_date, period))
    new = new.filter(add_days(new.diagnosis_date, 30) <= _horizon(new, period))
    img = src["imaging"]
    surveys = img.filter(img.modality.isin(SURVEY_MODALITIES))
    s = surveys.join(new.select(_pk=new.pk, _dx=new.diagnosis_date), surveys.pk == new.pk)
    s = s.filter((s.date >= add_days(s._dx, -60)) & (s.date <= add_days(s._dx, 30)))
    hit = s.select(_x=s.pk).distinct()
    j = new.left_join(hit, new.pk == hit._x)
    return _unit("QC-06", j, j.diagnosis_date, j._x.notnull())


def _qc07(facts: ir.Table, doses: ir.Table, period: Period) -> ir.Table:
    first = _first_per_pk(doses)
    first = first.filter(_between(first.first, period))
    f = facts.select(_pk=facts.pk, _dental=facts.dental_before_start)
    j = first.left_join(f, first.pk == f._pk)
    return _unit("QC-07", j, j.first, j._dental)


ADH03_CLOSE_REASONS: Final[tuple[str, ...]] = (
    "cost",
    "safety_concern",
    "dental",
    "performance_status",
    "patient_declined",
    "unknown",
    "transferred",
    "deceased",
    "other",
)
"""The interruption reasons a nurse records when closing an ADH-03 task (the reminder service's
``ADH03_REASONS``; a test keeps the two equal). System closes (``resolved_by_record``,
``superseded``) are not a reason recorded after a call."""

TASKS: Final = "adh03_tasks"
"""Input table of the ADH-03 tasks of the reminder service: ``pk, opened, closed, reason``."""

TASK_WINDOW_DAYS: Final = 7


def tasks_schema() -> ibis.Schema:
    return ibis.schema({"pk": "int64", "opened": "date", "closed": "date", "reason": "string"})


def _qc08_tasks(period: Period) -> ir.Table:
    """QC-08 from the reminder service's tasks: ADH-03 tasks opened in the period whose 7 days
    have passed by its end; numerator: closed with an interruption reason within 7 days."""
    t = ibis.table(tasks_schema(), name=TASKS)
    judged = add_days(t.opened, TASK_WINDOW_DAYS) <= lit(period.end, "date")
    t = t.filter(_between(t.opened, period) & judged)
    num = (
        t.closed.notnull()
        & t.reason.isin(ADH03_CLOSE_REASONS)
        & (days_between(t.closed, t.opened) <= TASK_WINDOW_DAYS)
    )
    return _unit("QC-08", t, t.opened, num)


def _qc08(findings: ir.Table, period: Period) -> ir.Table:
    adh03 = findings.filter(findings.rule == "ADH-03")
    # the task arises the day ADH-03 first fires: 29 days past due
    arose = add_days(adh03.due, 29)
    tasks = adh03.select(pk=adh03.pk, anchor=_date(arose))
    tasks = tasks.filter(_between(tasks.anchor, period))
    # no task store yet: the numerator is unknown (reported as null, see report notes)
    return tasks.select(
        measure=lit("QC-08"), pk=tasks.pk, anchor=tasks.anchor, num=null("boolean")
    )


REPLAY: Final = "qc09_replay"
"""Input table: the MDT-01 triggers (``pk, mdt_any, mdt_first_trigger``) evaluated on the days a
transient trigger arose in the period (:func:`replay_context_expr`)."""


def replay_schema() -> ibis.Schema:
    return ibis.schema({"pk": "int64", "mdt_any": "boolean", "mdt_first_trigger": "date"})


# ---- each replay day its own key ------------------------------------------------------------
#
# The engine evaluates one day per patient: its stages are keyed by ``pk`` (the latest
# assessment, the first trigger… per patient). The replay context holds several days of one
# patient, so each day becomes a patient of its own for the replay pass: day ``i`` (0, 1, …
# in date order) of patient ``pk`` is evaluated under the key ``pk + i * stride`` (``stride`` =
# the highest key + 1), over copies of that patient's record rows under the same key; the
# trigger rows are mapped back with ``MOD(key, stride)``. Each backend runs the same statements
# (standard SQL: DuckDB, PostgreSQL, Spark SQL) in its own way; the embedded backend numbers
# the days from 1 and runs them in the same engine pass as the patients themselves (their own
# keys are day 0; quality/run.py ``_run_part``).

REPLAY_DAYS: Final = "_qc09_replay_days"
"""The replay pass's own context stage (``pk, as_of``; several days per patient)."""
REPLAY_KEYS: Final = "_qc09_replay_keys"
"""``pk, as_of, i``: each replay day of a patient numbered from 0 in date order."""


def replay_keys_sql(days: str = REPLAY_DAYS, *, first: int = 0) -> str:
    """Each replay day of a patient numbered in date order from ``first``: from 1 when the
    replay runs in the same engine pass as the patients themselves (their keys are day 0)."""
    return (
        f"SELECT pk, as_of, ROW_NUMBER() OVER (PARTITION BY pk ORDER BY as_of) - {1 - int(first)}"
        f" AS i FROM {days}"
    )


def replay_stride_sql() -> str:
    """One row, one value: the stride (the highest patient key + 1)."""
    return "SELECT COALESCE(MAX(pk), 0) + 1 AS stride FROM patients"


def replay_rekeyed_sql(
    source: str,
    columns: Sequence[str],
    stride: int,
    quote: Callable[[str], str],
    *,
    dated: bool = False,
) -> str:
    """The rows of ``source`` (a record table with ``columns``) once per replay day of their
    patient, under the day's key; ``quote`` quotes a column name for the dialect. ``dated``
    (a table of :data:`~bonepath.rules.frame.DATED_TABLES`) copies only the rows dated on or
    before the day: the engine's scope drops the others (rules.md VAL-01) — the same result
    from fewer copies."""
    listed = ", ".join(
        f"t.pk + k.i * {int(stride)} AS pk" if c == "pk" else f"t.{quote(c)}" for c in columns
    )
    on_or_before = f" WHERE t.{quote('date')} <= k.as_of" if dated else ""
    return f"SELECT {listed} FROM {source} t JOIN {REPLAY_KEYS} k ON t.pk = k.pk{on_or_before}"


def replay_context_sql(stride: int) -> str:
    """The replay pass's engine context: each day under its own key."""
    return f"SELECT pk + i * {int(stride)} AS pk, as_of FROM {REPLAY_KEYS}"


def replay_result_sql(stride: int, *, folded: bool = False) -> str:
    """The :data:`REPLAY` rows from the replay pass's MDT stage, under the patients' keys.
    ``folded``: the stage also holds the patients' own rows (keys below ``stride``; the days
    numbered from 1, :func:`replay_keys_sql`), which are left out."""
    rows = f" WHERE pk >= {int(stride)}" if folded else ""
    return (
        f"SELECT MOD(pk, {int(stride)}) AS pk, mdt_any, mdt_first_trigger FROM {MDT_STAGE}{rows}"
    )


def replay_context_expr(src: Mapping[str, ir.Table], period: Period) -> ir.Table:
    """The days to evaluate MDT-01's transient triggers on: every symptom assessment in the
    period with a neurological deficit (RT-05) or bone pain NRS >= 7 (the pain trigger), while
    the patient is alive (pain days only once a strong opioid has been started). On the period
    end these triggers may no longer hold (7 and 30 days)."""
    sym = src["symptoms"].filter(_between(src["symptoms"].date, period))
    neuro = sym.filter(is_true(sym.neuro_deficit)).select("pk", "date")
    # the pain trigger needs an active strong opioid: some start of one on or before the day
    # (a necessary condition only — the engine decides)
    meds = src["medications"]
    starts = meds.filter(meds["class"].isin(STRONG_OPIOIDS) & (meds.action == "start"))
    first_start = starts.group_by("pk").aggregate(_since=starts.date.min()).rename(_mp="pk")
    severe = sym.filter(is_true(sym.bone_pain >= 7))
    severe = severe.join(first_start, (severe.pk == first_start._mp) & (first_start._since <= severe.date))
    days = ibis.union(neuro, severe.select("pk", "date"), distinct=True)
    p = src["patients"].select(_pk=ibis._.pk, _death=ibis._.death_date)
    j = days.join(p, days.pk == p._pk)
    j = j.filter(~is_true(j._death <= j.date))
    return j.select(pk=j.pk, as_of=j.date).distinct()


def _qc09(mdt: ir.Table, src: Mapping[str, ir.Table], period: Period, *, replay: bool) -> ir.Table:
    """The first MDT-01 trigger per patient (on the period end, and on the replay days), and
    whether an MDT was held on or after it by the period end."""
    triggers = mdt.select(pk=mdt.pk, mdt_any=mdt.mdt_any, first=mdt.mdt_first_trigger)
    if replay:
        r = ibis.table(replay_schema(), name=REPLAY)
        triggers = ibis.union(
            triggers, r.select(pk=r.pk, mdt_any=r.mdt_any, first=r.mdt_first_trigger)
        )
    triggers = triggers.filter(is_true(triggers.mdt_any) & triggers.first.notnull())
    first = triggers.group_by("pk").aggregate(first=triggers.first.min())
    first = first.filter(_between(first.first, period))
    meetings = src["mdt"]
    held = first.join(
        meetings,
        (first.pk == meetings.pk)
        & (meetings.date >= first.first)
        & (meetings.date <= lit(period.end, "date")),
    )
    held = held.select(_x=held.pk).distinct()
    j = first.left_join(held, first.pk == held._x)
    return _unit("QC-09", j, j.first, j._x.notnull())


MDT_DUE_DAYS: Final = (1, 2, 14)
"""MDT-01's due date after its earliest trigger (rules.md §11, v1.1): the next day with RT-05,
2 days with an unstable spine (SINS >= 13), else 14 days — the rule's own classes, read from the
engine's trigger stage (``mdt_rt05``, ``mdt_unstable``)."""


def _qc12(mdt: ir.Table, src: Mapping[str, ir.Table], period: Period) -> ir.Table:
    """MDT-01 triggers discussed by their due date: the first trigger standing on the period
    end (the engine's trigger stage), due by MDT-01's classes, judged once the due date has
    passed by the period end; numerator: an ``mdt`` item from the trigger to the due date."""
    rt05, unstable, other = MDT_DUE_DAYS
    t = mdt.filter(is_true(mdt.mdt_any) & mdt.mdt_first_trigger.notnull())
    days = ibis.ifelse(
        is_true(t.mdt_rt05), rt05, ibis.ifelse(is_true(t.mdt_unstable), unstable, other)
    )
    t = t.select(pk=t.pk, first=t.mdt_first_trigger, due=_date(add_days(t.mdt_first_trigger, days)))
    t = t.filter(_between(t.first, period) & (t.due <= lit(period.end, "date")))
    meetings = src["mdt"]
    held = t.join(
        meetings, (t.pk == meetings.pk) & (meetings.date >= t.first) & (meetings.date <= t.due)
    )
    held = held.select(_x=held.pk).distinct()
    j = t.left_join(held, t.pk == held._x)
    return _unit("QC-12", j, j.first, j._x.notnull())


def _qc10(src: Mapping[str, ir.Table], doses: ir.Table, period: Period) -> ir.Table:
    sre = src["sre"]
    sre = sre.filter(sre.kind.isin(TRIAL_SRE) & _between(sre.date, period))
    d = doses.select(_pk=doses.pk, _date=doses.date, _interval=doses.interval_days)
    # the latest dose before each SRE
    before = sre.join(d, (sre.pk == d._pk) & (d._date < sre.date))
    ranked = before.mutate(
        _rank=ibis.row_number().over(
            ibis.window(group_by=[before.pk, before.seq], order_by=before._date.desc())
        )
    )
    on = ranked.filter(ranked._rank == 0)
    on = on.select(pk=on.pk, seq=on.seq, sre_date=on.date, last_dose=on._date, interval=on._interval)
    # a stop between that dose and the SRE ends the course: not "on BTA"
    stops = src["bta_stop"].select(_p=ibis._.pk, _stop=ibis._.date)
    cut = on.join(
        stops, (on.pk == stops._p) & (stops._stop >= on.last_dose) & (stops._stop <= on.sre_date)
    )
    cut = cut.select(_cp=cut.pk, _cs=cut.seq).distinct()
    on = _without(on, cut, (on.pk == cut._cp) & (on.seq == cut._cs), "_cp")
    # the first such SRE in the period per patient
    ranked = on.mutate(
        _rank=ibis.row_number().over(
            ibis.window(group_by=on.pk, order_by=[on.sre_date, on.seq])
        )
    )
    first = ranked.filter(ranked._rank == 0)
    p = src["patients"].select(_pp=ibis._.pk, _death=ibis._.death_date)
    first = first.left_join(p, first.pk == p._pp)
    grace = ibis.coalesce(first.interval, lit(28, "int64")) + 28
    judged = add_days(first.sre_date, grace) <= lit(period.end, "date")
    early_death = is_true(days_between(first._death, first.sre_date) <= 28)
    first = first.filter(judged & ~early_death)
    again = first.join(d, (first.pk == d._pk) & (d._date > first.sre_date))
    again = again.select(_x=again.pk).distinct()
    j = first.left_join(again, first.pk == again._x)
    return _unit("QC-10", j, j.sre_date, j._x.notnull())


def units_expr(period: Period, *, tasks: bool = False, replay: bool = False) -> ir.Table:
    """Every denominator unit of every measure: ``(measure, pk, anchor, num)``.

    ``tasks``: QC-08 from the :data:`TASKS` input table (the reminder service's ADH-03 tasks);
    without it, its denominator is the ADH-03 firings on the period end and its numerator
    unknown. ``replay``: QC-09 also reads the :data:`REPLAY` input table.
    """
    src = unbound_sources()
    mdt = _stage_table(MDT_STAGE)
    findings = _stage_table(FINDINGS)
    doses = valid_doses(src)
    parts = [
        _qc01(src, period),
        _qc02(src, period),
        _qc03(src, mdt, doses, period),
        _qc03b(src, mdt, doses, period),
        _qc04(src, doses, period),
        _qc05(src, mdt, doses, period),
        _qc06(src, period),
        _qc07(mdt, doses, period),
        _qc08_tasks(period) if tasks else _qc08(findings, period),
        _qc09(mdt, src, period, replay=replay),
        _qc10(src, doses, period),
        _qc11(src, period),
        _qc12(mdt, src, period),
    ]
    return ibis.union(*parts)


def strata_expr() -> ir.Table:
    """Numerator and denominator per measure: overall (``by`` null) and per stratum value."""
    units = ibis.table(
        ibis.schema({"measure": "string", "pk": "int64", "anchor": "date", "num": "boolean"}),
        name=UNITS,
    )
    p = ibis.table(table_schema("patients"), name="patients")
    people = p.select(_pk=p.pk, **{by: p[col] for by, col in STRATUM_COLUMNS.items()})
    j = units.left_join(people, units.pk == people._pk)
    j = j.mutate(month=j.anchor.strftime("%Y-%m"))

    def agg(by: str | None) -> ir.Table:
        value = j[by].cast("string") if by else null("string")
        g = j.mutate(_by=lit(by) if by else null("string"), _value=value)
        return g.group_by(["measure", "_by", "_value"]).aggregate(
            numerator=ibis.ifelse(g.num, 1, 0).sum(),
            known=g.num.count(),
            denominator=g.count(),
        )

    parts = [agg(None), *(agg(by) for by in (*STRATUM_COLUMNS, "month"))]
    out = ibis.union(*parts)
    return out.select(
        measure=out.measure,
        by=out._by,
        value=out._value,
        numerator=out.numerator,
        known=out.known,
        denominator=out.denominator,
    )


BROAD_PAIN_NRS: Final = 4
"""Bone pain counted as an SRE by the broad (Chinese) definition: NRS >= 4 (moderate or worse)."""


def outcomes_expr(period: Period) -> ir.Table:
    """One row per patient confirmed in the period: the inputs of the outcome analyses.

    ``first_sre`` (trial definition), ``first_sre_any`` (every recorded SRE, hypercalcaemia
    included) and ``first_sre_broad`` (also bone pain NRS >= 4) are the first events dated
    after confirmation; ``presenting`` / ``presenting_any`` mark a trial / any SRE on or before
    the confirmation day. ``timing``: ``prompt`` (first dose <= 14 days
    after confirmation), ``delayed`` or ``never`` (by the period end). ``adherence``:
    ``extended`` when any within-course interval was extended (ADH-04), ``standard`` when
    there were intervals and none was, null with fewer than two doses of a course.
    """
    src = unbound_sources()
    facts = _stage_table(MDT_STAGE)
    doses = valid_doses(src)
    end = lit(period.end, "date")
    c = _confirmed(facts)
    c = c.filter(_between(c.confirmed, period))
    p = src["patients"].select(_pp=ibis._.pk, death=ibis._.death_date)
    c = c.left_join(p, c.pk == p._pp).drop("_pp")
    sre = src["sre"].filter(src["sre"].date <= end)
    trial = sre.filter(sre.kind.isin(TRIAL_SRE))
    ref = c.select(_k=c.pk, _c=c.confirmed)

    def first_after(events: ir.Table, name: str, *, strict: bool) -> ir.Table:
        j = events.join(ref, events.pk == ref._k)
        j = j.filter(j.date > j._c) if strict else j.filter(j.date <= j._c)
        return j.group_by("pk").aggregate(**{name: j.date.min()}).rename(**{f"_{name}_pk": "pk"})

    sym = src["symptoms"]
    pain = sym.filter(is_true(sym.bone_pain >= BROAD_PAIN_NRS) & (sym.date <= end)).select("pk", "date")
    broad = ibis.union(sre.select("pk", "date"), pain)
    first_trial = first_after(trial, "first_sre", strict=True)
    first_broad = first_after(broad, "first_sre_broad", strict=True)
    presenting = first_after(trial, "presenting_sre", strict=False)
    first_any = first_after(sre, "first_sre_any", strict=True)
    presenting_any = first_after(sre, "presenting_any", strict=False)
    first_dose = _first_per_pk(doses.filter(doses.date <= end)).rename(_fd_pk="pk", first_dose="first")
    pairs = _dose_pairs(src, doses.filter(doses.date <= end))
    planned = ibis.coalesce(pairs.prev_interval, lit(28, "int64"))
    pairs = pairs.mutate(
        _cls=interval_class(pairs.drug, days_between(pairs.date, pairs.prev_date), planned)
    )
    adherence = pairs.group_by("pk").aggregate(_ext=(pairs._cls == "extended").any())
    adherence = adherence.rename(_ad_pk="pk")
    j = c.left_join(first_trial, c.pk == first_trial._first_sre_pk)
    j = j.left_join(first_broad, j.pk == first_broad._first_sre_broad_pk)
    j = j.left_join(presenting, j.pk == presenting._presenting_sre_pk)
    j = j.left_join(first_any, j.pk == first_any._first_sre_any_pk)
    j = j.left_join(presenting_any, j.pk == presenting_any._presenting_any_pk)
    j = j.left_join(first_dose, j.pk == first_dose._fd_pk)
    j = j.left_join(adherence, j.pk == adherence._ad_pk)
    started = days_between(j.first_dose, j.confirmed)
    timing = ibis.cases(
        (j.first_dose.isnull(), lit("never")),
        (started <= 14, lit("prompt")),
        else_=lit("delayed"),
    )
    adh = ibis.cases((j._ext.isnull(), null("string")), (j._ext, lit("extended")), else_=lit("standard"))
    horizon = ibis.ifelse(is_true(j.death <= end), j.death, end)
    return j.select(
        pk=j.pk,
        confirmed=j.confirmed,
        death=ibis.ifelse(is_true(j.death <= end), j.death, null("date")),
        horizon=_date(horizon),
        first_sre=j.first_sre,
        first_sre_broad=j.first_sre_broad,
        presenting=j.presenting_sre.notnull(),
        first_sre_any=j.first_sre_any,
        presenting_any=j.presenting_any.notnull(),
        first_dose=j.first_dose,
        timing=timing,
        adherence=adh,
    )


OUTCOMES: Final = "qc_outcomes"


def replay_stages(period: Period, dialect: str) -> list[tuple[str, str]]:
    """The engine stages over the replay days of QC-09 (:func:`replay_context_expr`); the
    :data:`MDT_STAGE` result becomes the :data:`REPLAY` input of the main pass."""
    context = replay_context_expr(unbound_sources(), period)
    return [("context", ibis.to_sql(context, dialect=dialect)), *engine_stages(dialect)]


def quality_stages(
    period: Period,
    dialect: str,
    *,
    outcomes: bool = False,
    everyone: bool = False,
    tasks: bool = False,
    replay: bool = False,
) -> list[tuple[str, str]]:
    """(name, SQL) of every stage, in order, for ``dialect`` (``duckdb`` or ``postgres``).

    ``outcomes`` adds the :data:`OUTCOMES` stage; ``everyone`` evaluates the engine facts for
    every patient instead of the candidates of :func:`context_expr` (for tests); ``tasks``
    reads QC-08 from the :data:`TASKS` input table. Compiled once per process for each
    period and options (≈ 0.5–1 s of ibis).
    """
    return list(_quality_stages(period, dialect, outcomes, everyone, tasks, replay))


@cache
def _quality_stages(
    period: Period, dialect: str, outcomes: bool, everyone: bool, tasks: bool, replay: bool
) -> tuple[tuple[str, str], ...]:
    src = unbound_sources()
    context = context_expr(src, period)
    if everyone:
        p = src["patients"]
        end = lit(period.end, "date")
        as_of = ibis.ifelse(is_true(p.death_date <= end), add_days(p.death_date, -1), end)
        context = p.select(pk=p.pk, as_of=_date(as_of))
    stages: list[tuple[str, str]] = [("context", ibis.to_sql(context, dialect=dialect))]
    stages += list(engine_stages(dialect))
    units = units_expr(period, tasks=tasks, replay=replay)
    stages.append((UNITS, ibis.to_sql(units, dialect=dialect)))
    stages.append((STRATA_TABLE, ibis.to_sql(strata_expr(), dialect=dialect)))
    if outcomes:
        stages.append((OUTCOMES, ibis.to_sql(outcomes_expr(period), dialect=dialect)))
    return tuple(stages)


__all__ = [
    "ENGINE_RULES",
    "Period",
    "context_expr",
    "engine_stages",
    "quality_stages",
    "strata_expr",
    "units_expr",
]
