"""Measures of the synthetic cohort, written from rules.md independently of the generator.

Each helper reads only the records (never generator internals), the way the quality
indicators of rules.md §13 will, so the calibration tests check what a user would measure.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

Record = dict[str, Any]


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def add_months(start: dt.date, months: int) -> dt.date:
    """Calendar months, clamped to month end (rules.md VAL-06)."""
    year, month = divmod(start.month - 1 + months, 12)
    year += start.year
    month += 1
    return dt.date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def events(record: Record, name: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = record.get("events", {}).get(name, [])
    return items


def horizon(record: Record, as_of: dt.date) -> dt.date:
    """The last day the patient is followed: death or as_of."""
    return min(day(record["death_date"]), as_of) if "death_date" in record else as_of


def all_dates(record: Record) -> Iterator[tuple[str, dt.date]]:
    """Every date of the record with a readable location."""
    for key in ("birth_date", "death_date"):
        if key in record:
            yield key, day(record[key])
    for key in ("diagnosis_date", "surgery_date", "recurrence_date"):
        if key in record["cancer"]:
            yield f"cancer.{key}", day(record["cancer"][key])
    bone = record.get("bone_metastasis") or {}
    if "confirmed_date" in bone:
        yield "bone_metastasis.confirmed_date", day(bone["confirmed_date"])
    for name, items in record.get("events", {}).items():
        for index, item in enumerate(items):
            yield f"events.{name}[{index}]", day(item["date"])


@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int

    @property
    def value(self) -> float:
        return self.numerator / self.denominator


def rate(pairs: Iterable[tuple[bool, bool]]) -> Rate:
    """(in denominator, in numerator) pairs -> Rate."""
    num = den = 0
    for in_den, in_num in pairs:
        if in_den:
            den += 1
            num += in_num
    return Rate(num, den)


def chest_ct_reviewed(records: Iterable[Record], **stratum: str) -> Rate:
    """QC-01: chest/abdomen CTs with the bone window reviewed, optionally in one stratum."""
    num = den = 0
    for record in records:
        keys = {
            "city_tier": record["hospital"]["city_tier"],
            "hospital_type": record["hospital"]["type"],
            "physician_title": record["physician"]["title"],
        }
        if any(keys[k] != v for k, v in stratum.items()):
            continue
        for item in events(record, "imaging"):
            if item["modality"] == "ct" and item.get("region") in ("chest", "chest_abdomen"):
                den += 1
                num += item.get("bone_window_reviewed") is True
    return Rate(num, den)


def six_monthly_survey(records: Iterable[Record], as_of: dt.date) -> Rate:
    """QC-02: advanced patients followed >= 6 months with a bone survey in every complete
    6-month window from the start of advanced disease (diagnosis, or recurrence_date)."""
    num = den = 0
    for record in records:
        cancer = record["cancer"]
        if cancer.get("setting") != "advanced":
            continue
        start = day(cancer.get("recurrence_date") or cancer["diagnosis_date"])
        end = horizon(record, as_of)
        if add_months(start, 6) > end:
            continue
        surveys = [
            day(e["date"])
            for e in events(record, "imaging")
            if e["modality"] in ("bone_scan", "pet_ct")
        ]
        ok, k = True, 0
        while add_months(start, 6 * (k + 1)) <= end:
            low, high = add_months(start, 6 * k), add_months(start, 6 * (k + 1))
            if not any(low <= s < high for s in surveys):
                ok = False
                break
            k += 1
        den += 1
        num += ok
    return Rate(num, den)


def immediate_bta(records: Iterable[Record], as_of: dt.date) -> Rate:
    """QC-03: confirmed patients (confirmation >= 14 d before as_of, no recorded life
    expectancy < 3 months at confirmation) with a first BTA dose <= 14 d after it."""
    num = den = 0
    for record in records:
        bone = record.get("bone_metastasis") or {}
        if bone.get("status") != "confirmed":
            continue
        confirmed = day(bone["confirmed_date"])
        if confirmed + dt.timedelta(days=14) > as_of:
            continue
        estimates = [
            p["life_expectancy_months"]
            for p in events(record, "performance")
            if "life_expectancy_months" in p and day(p["date"]) <= confirmed
        ]
        if estimates and estimates[-1] < 3:
            continue
        doses = [day(d["date"]) for d in events(record, "bta")]
        den += 1
        num += bool(doses) and confirmed <= min(doses) <= confirmed + dt.timedelta(days=14)
    return Rate(num, den)


def interval_class(drug: str, planned: int, gap: int) -> str:
    """ADH-04: standard, short or extended."""
    if drug == "denosumab":
        low, high = 27, 30
    elif planned == 84:
        low, high = 77, 91
    else:
        low, high = 21, 30
    return "short" if gap < low else "standard" if gap <= high else "extended"


def course_gaps(record: Record) -> Iterator[tuple[str, int, int]]:
    """(drug, planned interval, gap days) between consecutive doses of one course."""
    stops = [day(s["date"]) for s in events(record, "bta_stop")]
    doses = events(record, "bta")
    for a, b in zip(doses, doses[1:], strict=False):
        first, second = day(a["date"]), day(b["date"])
        if a["drug"] != b["drug"] or any(first <= s <= second for s in stops):
            continue
        yield a["drug"], a.get("interval_days", 28), (second - first).days


def standard_intervals(records: Iterable[Record]) -> Rate:
    """QC-04: within-course gaps of standard length."""
    num = den = 0
    for record in records:
        for drug, planned, gap in course_gaps(record):
            den += 1
            num += interval_class(drug, planned, gap) == "standard"
    return Rate(num, den)


def bta_before_bone_surgery(records: Iterable[Record]) -> Rate:
    """QC-05: patients with bone surgery who had a BTA dose before the first one."""
    num = den = 0
    for record in records:
        surgeries = [
            day(t["date"]) for t in events(record, "treatments") if t["kind"] == "surgery_bone"
        ]
        if not surgeries:
            continue
        den += 1
        num += any(day(d["date"]) < min(surgeries) for d in events(record, "bta"))
    return Rate(num, den)


def untreated_sre_survival(
    records: Iterable[Record], as_of: dt.date, days: Iterable[int]
) -> dict[int, float]:
    """Kaplan-Meier of confirmation -> first SRE, censored at death, as_of or the first BTA
    dose; patients whose first SRE preceded confirmation (presenting SREs) are left out."""
    observations: list[tuple[int, bool]] = []
    for record in records:
        bone = record.get("bone_metastasis") or {}
        if bone.get("status") != "confirmed":
            continue
        confirmed = day(bone["confirmed_date"])
        sres = sorted(day(s["date"]) for s in events(record, "sre"))
        if sres and sres[0] <= confirmed:
            continue
        doses = sorted(day(d["date"]) for d in events(record, "bta"))
        censor = min([horizon(record, as_of), *doses[:1]])
        if sres and sres[0] <= censor:
            observations.append(((sres[0] - confirmed).days, True))
        else:
            observations.append(((censor - confirmed).days, False))
    observations.sort(key=lambda o: (o[0], not o[1]))
    at_risk = len(observations)
    survival = 1.0
    curve: list[tuple[int, float]] = []
    for t, event in observations:
        if event:
            survival *= 1 - 1 / at_risk
        at_risk -= 1
        curve.append((t, survival))
    out: dict[int, float] = {}
    for d in days:
        out[d] = next((s for t, s in reversed(curve) if t <= d), 1.0)
    return out


def dx07_date(record: Record) -> dt.date | None:
    """rules.md DX-07: earliest date a site is positive on PET-CT, or on a bone scan and on
    anatomical imaging (the later of the two), or a biopsy shows metastatic lung cancer."""
    candidates: list[dt.date] = [
        day(b["date"]) for b in events(record, "biopsy") if b["result"] == "metastatic_lung"
    ]
    scans: dict[str, dt.date] = {}
    anatomy: dict[str, dt.date] = {}
    for item in events(record, "imaging"):
        if item.get("result") != "positive":
            continue
        when = day(item["date"])
        if item["modality"] == "pet_ct":
            candidates.append(when)
            continue
        target = scans if item["modality"] == "bone_scan" else anatomy
        for site in item.get("sites", []):
            target.setdefault(site, when)
    for site, when in scans.items():
        if site in anatomy:
            candidates.append(max(when, anatomy[site]))
    return min(candidates, default=None)


def baseline_survey(records: Iterable[Record], as_of: dt.date) -> Rate:
    """QC-06: patients diagnosed >= 30 d before as_of with a bone survey in the SCR-01 window
    [diagnosis - 60 d, diagnosis + 30 d]."""
    num = den = 0
    for record in records:
        diagnosed = day(record["cancer"]["diagnosis_date"])
        if diagnosed + dt.timedelta(days=30) > horizon(record, as_of):
            continue
        low, high = diagnosed - dt.timedelta(days=60), diagnosed + dt.timedelta(days=30)
        den += 1
        num += any(
            e["modality"] in ("bone_scan", "pet_ct") and low <= day(e["date"]) <= high
            for e in events(record, "imaging")
        )
    return Rate(num, den)


def dental_before_bta(records: Iterable[Record], **stratum: str) -> Rate:
    """QC-07: BTA starters whose latest dental exam in the 90 days up to the first dose did not
    find disease (rules 1.1 SAFE-08: `needs_treatment` does not clear the start)."""
    num = den = 0
    for record in records:
        if any(record["hospital"][k] != v for k, v in stratum.items()):
            continue
        doses = events(record, "bta")
        if not doses:
            continue
        first = day(doses[0]["date"])
        den += 1
        window = [
            d for d in events(record, "dental") if first - dt.timedelta(days=90) <= day(d["date"]) <= first
        ]
        # the latest in the window (same day: the last in list order, VAL-07)
        latest = max(enumerate(window), key=lambda pair: (day(pair[1]["date"]), pair[0]), default=None)
        num += latest is not None and latest[1]["result"] != "needs_treatment"
    return Rate(num, den)
