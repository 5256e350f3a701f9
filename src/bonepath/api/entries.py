"""Adding, correcting and voiding record entries, with their history (issue 15 item 3).

Free of any web framework, like :mod:`bonepath.api.services`: the pages and the JSON API call
these. Every write builds the updated record v1 document, parses it with
:func:`bonepath.record.parse.parse_record` (the same validation as an import) and writes it
with its history row in one transaction (:meth:`Store.write_record`,
:mod:`bonepath.store.revisions`), refused when someone else wrote the patient in between.

Who may correct or void an entry: its author (the user whose form wrote it as it stands) or a
clinician; a reason is required. Completing an entry — filling fields that were not recorded,
changing none that were (a lesion's cortical involvement asked for by SURG-01) — is a
correction anyone who records events may make, without a reason.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection

from bonepath.errors import NotFound, Problem, RecordRefused
from bonepath.record.history import (
    OBJECT_FAMILIES,
    Revision,
    as_known_on,
    author_of,
    canonical,
    entries,
)
from bonepath.record.model import EVENT_LISTS, Record
from bonepath.record.parse import parse_record
from bonepath.store.accounts import Principal
from bonepath.store.repository import Store, content_hash
from bonepath.store.revisions import add_revision, revisions_of

FAMILIES: Final = (*EVENT_LISTS, "lesions", *OBJECT_FAMILIES)
"""What an entry may belong to: an event list, a bone lesion, the cancer object."""
WEB_SOURCE_PREFIX: Final = "web:"
CORRECTOR_ROLES: Final = frozenset({"clinician"})
"""Roles that may correct or void any entry (others: only their own)."""

LAB_RANGES: Final[Mapping[str, Mapping[str, tuple[float, float]]]] = {
    "alp": {"U/L": (5.0, 10000.0)},
    "balp": {"U/L": (1.0, 1000.0), "ug/L": (1.0, 1000.0)},
    "pinp": {"ng/mL": (1.0, 5000.0), "ug/L": (1.0, 5000.0)},
    "ctx": {"ng/mL": (0.01, 10.0), "pg/mL": (10.0, 10000.0)},
    "ntx": {"nmol BCE/mmol Cr": (1.0, 2000.0)},
    "vitamin_d": {"ng/mL": (1.0, 200.0), "nmol/L": (2.5, 500.0)},
}
"""Plausible ranges of the tests VAL-02 leaves at "> 0", for what people type into a form or
the API (issue 15 item 6): a value outside is refused (``IMPLAUSIBLE_VALUE``) — a slipped
decimal point or a wrong unit, not a guess. Creatinine, calcium and albumin keep VAL-02's
ranges (record parser); an import is not affected."""
FIELD_RANGES: Final[Mapping[tuple[str, str], tuple[float, float, str]]] = {
    ("vitals", "height_cm"): (100.0, 230.0, "cm"),
    ("supplements", "calcium_mg_daily"): (0.0, 3000.0, "mg"),
    ("supplements", "vitamin_d_iu_daily"): (0.0, 50000.0, "IU"),
    ("performance", "life_expectancy_months"): (0.0, 240.0, "months"),
    ("treatments", "dose_gy"): (0.5, 80.0, "Gy"),
    ("treatments", "fractions"): (1.0, 40.0, ""),
    ("lesions", "size_mm"): (1.0, 500.0, "mm"),
}


def _fmt(x: float) -> str:
    return f"{x:g}"


def plausibility(family: str, entry: Mapping[str, Any], where: str) -> list[Problem]:
    """Ranges a typed entry must fall in beyond the record format's own (issue 15 item 6)."""
    problems: list[Problem] = []
    if family == "labs":
        test, unit, raw = entry.get("test"), entry.get("unit"), entry.get("value")
        ranges = LAB_RANGES.get(test, {}) if isinstance(test, str) else {}
        value = float(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else 0.0
        if value > 0 and isinstance(unit, str) and unit in ranges:
            low, high = ranges[unit]
            if not low <= value <= high:
                problems.append(
                    Problem(
                        f"{where}/value",
                        "IMPLAUSIBLE_VALUE",
                        f"{test} {_fmt(value)} {unit} is outside the plausible range "
                        f"{_fmt(low)}-{_fmt(high)} {unit}; check the value and its unit",
                        tuple(f"{_fmt(lo)}-{_fmt(hi)} {u}" for u, (lo, hi) in ranges.items()),
                    )
                )
    for (fam, key), (low, high, unit) in FIELD_RANGES.items():
        raw = entry.get(key)
        if fam != family or not isinstance(raw, int | float) or isinstance(raw, bool):
            continue
        value = float(raw)
        if not low <= value <= high:
            problems.append(
                Problem(
                    f"{where}/{key}",
                    "IMPLAUSIBLE_VALUE",
                    f"{key} {_fmt(value)} is outside the plausible range "
                    f"{_fmt(low)}-{_fmt(high)} {unit}".rstrip(),
                    (f"{_fmt(low)}-{_fmt(high)} {unit}".rstrip(),),
                )
            )
    return problems


def fingerprint(entry: Any) -> str:
    """A short, stable id of an entry's content: a correction names the entry it read, so a
    form submitted after someone else changed that entry is refused, not applied to another."""
    return hashlib.sha256(canonical(entry)).hexdigest()[:16]


def _path(family: str, index: int | str) -> str:
    if family == "lesions":
        return f"/bone_metastasis/lesions/{index}"
    if family in OBJECT_FAMILIES:
        return f"/{family}"
    return f"/events/{family}/{index}"


@dataclass(frozen=True, slots=True)
class EntryWritten:
    record: Record
    revision: Revision


def _write(
    store: Store,
    principal: Principal,
    record: Record,
    data: dict[str, Any],
    revision_of: Any,
    *,
    today: dt.date,
) -> EntryWritten:
    updated = parse_record(data, today=today)
    revision: Revision = revision_of(updated.to_json_dict())

    def also(conn: Connection) -> None:
        add_revision(conn, record.source, record.id, revision)

    store.write_record(
        updated,
        import_source=f"{WEB_SOURCE_PREFIX}{principal.username}",
        expected_hash=content_hash(record),
        also=also,
    )
    return EntryWritten(updated, revision)


def _revision(
    principal: Principal,
    family: str,
    action: str,
    before: Any,
    after: Any,
    reason: str | None,
    today: dt.date,
) -> Revision:
    return Revision(
        family=family,
        action=action,
        before=before,
        after=after,
        reason=reason,
        username=principal.username,
        role=str(principal.role.value if hasattr(principal.role, "value") else principal.role),
        recorded_on=today,
        recorded_at=dt.datetime.now(dt.UTC),
    )


def add_entry(
    store: Store,
    principal: Principal,
    record: Record,
    family: str,
    entry: Mapping[str, Any],
    *,
    today: dt.date,
) -> EntryWritten:
    """Append ``entry`` to ``family`` of a record the caller has loaded (tenancy checked),
    validated like an import, with an ``add`` revision (its author)."""
    if family not in FAMILIES or family in OBJECT_FAMILIES:
        raise NotFound(f"no entry family {family}")
    data = record.to_json_dict()
    items = entries(data, family)
    index = len(items)
    refused = plausibility(family, entry, _path(family, index))
    if refused:
        raise RecordRefused(refused)
    items.append(dict(entry))
    return _write(
        store,
        principal,
        record,
        data,
        lambda new: _revision(
            principal, family, "add", None, entries(new, family)[index], None, today
        ),
        today=today,
    )


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return float(a) == float(b)
    return canonical(a) == canonical(b)


def _is_completion(before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    """Only fields that were not recorded are filled; none that were is changed or removed."""
    return all(key in after and _same(after[key], value) for key, value in before.items())


def _may_change(principal: Principal, revisions: list[Revision], family: str, entry: Any) -> bool:
    role = str(getattr(principal.role, "value", principal.role))
    return role in CORRECTOR_ROLES or author_of(revisions, family, entry) == principal.username


def change_entry(
    store: Store,
    principal: Principal,
    record: Record,
    family: str,
    index: int,
    expected: str,
    new: Mapping[str, Any] | None,
    reason: str | None,
    *,
    today: dt.date,
) -> EntryWritten:
    """Correct (``new`` given) or void (``new`` None) entry ``index`` of ``family``.

    ``expected`` is the :func:`fingerprint` of the entry the user read; refused
    (``ENTRY_NOT_FOUND``) when it is no longer there, ``NOT_AUTHOR`` when the caller is
    neither its author nor a clinician, ``REASON_REQUIRED`` without a reason (a completion
    needs none)."""
    if family not in FAMILIES:
        raise NotFound(f"no entry family {family}")
    data = record.to_json_dict()
    where = _path(family, index)
    if family in OBJECT_FAMILIES:
        current: Any = data.get(family)
    else:
        items = entries(data, family)
        current = items[index] if 0 <= index < len(items) else None
    if current is None or fingerprint(current) != expected:
        raise RecordRefused([Problem(where, "ENTRY_NOT_FOUND", "the entry is no longer there")])
    reason = (reason or "").strip() or None
    completion = new is not None and _is_completion(current, new)
    revisions = revisions_of(store.engine, record.source, record.id)
    problems: list[Problem] = []
    if not completion and not _may_change(principal, revisions, family, current):
        problems.append(
            Problem(where, "NOT_AUTHOR", "only the entry's author or a clinician may change it")
        )
    if not completion and reason is None:
        problems.append(
            Problem(
                f"{where}/reason", "REASON_REQUIRED", "say why the entry is corrected or voided"
            )
        )
    if new is not None:
        problems.extend(plausibility(family, new, where))
    if problems:
        raise RecordRefused(problems)
    if family in OBJECT_FAMILIES:
        if new is None:
            raise RecordRefused(
                [Problem(where, "ENTRY_NOT_FOUND", "the cancer entry cannot be voided")]
            )
        data[family] = dict(new)
    elif new is None:
        del items[index]
    else:
        items[index] = dict(new)
    if family == "bta" and new is not None:
        from bonepath.api.services import dose_refusals

        others = record.to_json_dict()
        del entries(others, "bta")[index]
        refused = dose_refusals(parse_record(others, today=today), new)
        if refused:
            raise RecordRefused(
                [dataclasses.replace(p, path=p.path.replace("/-", f"/{index}")) for p in refused]
            )
    action = "void" if new is None else "correct"
    note = reason if reason or not completion else None

    def after_of(updated: dict[str, Any]) -> Revision:
        if new is None:
            after = None
        elif family in OBJECT_FAMILIES:
            after = updated.get(family)
        else:
            after = entries(updated, family)[index]
        return _revision(principal, family, action, current, after, note, today)

    return _write(store, principal, record, data, after_of, today=today)


def known_on(store: Store, record: Record, day: dt.date) -> Record:
    """``record`` as it was known at the end of ``day`` (later corrections, voids and
    entries undone; :func:`bonepath.record.history.as_known_on`)."""
    revisions = revisions_of(store.engine, record.source, record.id)
    if not any(r.recorded_on > day for r in revisions):
        return record
    # every entry put back was stored before, validated: the model rebuilds it as it was
    return Record.model_validate(as_known_on(record.to_json_dict(), revisions, day))


def history(store: Store, record: Record) -> list[Revision]:
    """Corrections and voids of the patient's entries, newest first (adds are not listed)."""
    return [
        r
        for r in reversed(revisions_of(store.engine, record.source, record.id))
        if r.action != "add"
    ]
