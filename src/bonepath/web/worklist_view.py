"""The web worklist as a nurse reads it (issue 15 item 1): filters read as people type them
(never a bare 422), and each row with its item, its reason in plain words and the patient's
name and phone where the record has an ``identity``.

Messages here are ``(zh, en)`` pairs, the way :mod:`bonepath.reminders.model` labels close
reasons; :func:`text` picks the page's language.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import select

from bonepath.population.worklist import WorklistItem
from bonepath.store.accounts import Principal
from bonepath.store.repository import Store
from bonepath.store.schema import patients
from bonepath.vocab import FindingKind

Pair = tuple[str, str]

MAX_DUE_WITHIN: Final = 3650


def text(pair: Pair, lang: str) -> str:
    return pair[1] if lang == "en" else pair[0]


FIELD_LABELS: Final[Mapping[str, Pair]] = {
    "as_of": ("评估日期", "As of"),
    "kind": ("类型", "Kind"),
    "rule": ("规则或类别", "Rule or family"),
    "hospital": ("医院", "Hospital"),
    "physician": ("医生工号", "Physician ID"),
    "due_within": ("到期天数内", "Due within (days)"),
}

LABELS: Final[Mapping[str, Pair]] = {
    "undated": ("也列出无到期日的事项", "also items without a due day"),
    "item": ("部位/项目", "Item"),
    "reason": ("原因", "Why"),
    "phone": ("电话", "Phone"),
    "filter_problems": ("部分筛选条件未采用：", "Some filters were not used:"),
    "ranking": (
        "排序：先逾期（逾期天数多者在前，再按严重度），再按到期日，最后是需补录的事项。",
        "Order: overdue first (longest overdue, then severity), then by due day, data needed last.",
    ),
}


@dataclass(frozen=True, slots=True)
class FilterProblem:
    """A filter value that was not used, and why (shown above the list, naming the field)."""

    field: str
    value: str
    message: Pair

    def render(self, lang: str) -> str:
        label = text(FIELD_LABELS[self.field], lang)
        if lang == "en":
            return f'{label} "{self.value}": {text(self.message, lang)}'
        return f"{label}“{self.value}”：{text(self.message, lang)}"


@dataclass(slots=True)
class ParsedFilters:
    as_of: dt.date
    kinds: frozenset[FindingKind]
    rule: str | None
    hospital: str | None
    """The hospital id as stored (``h01`` typed, ``H01`` stored)."""
    unknown_hospital: bool
    physician: str | None
    due_within: int | None
    keep_undated: bool
    problems: list[FilterProblem] = field(default_factory=list)


def _clean(value: str | None) -> str:
    return unicodedata.normalize("NFKC", value or "").strip()


def parse_filters(
    *,
    today: dt.date,
    default_kinds: Iterable[FindingKind],
    known_hospitals: Sequence[str],
    known_rules: Iterable[str],
    as_of: str | None,
    kind: Sequence[str] | None,
    rule: str | None,
    hospital: str | None,
    physician: str | None,
    due_within: str | None,
    undated: str | None,
) -> ParsedFilters:
    """The worklist filters from the query as typed: empty means "no filter", full-width
    digits and letters are read (NFKC), codes case-insensitively; a value that cannot be used
    is a :class:`FilterProblem` naming its field (the list is shown without that filter,
    except an unknown hospital, which shows nothing rather than another hospital's list)."""
    problems: list[FilterProblem] = []
    day = today
    typed = _clean(as_of)
    if typed:
        try:
            day = dt.date.fromisoformat(typed.replace("/", "-"))
        except ValueError:
            problems.append(
                FilterProblem(
                    "as_of",
                    typed,
                    (
                        "不是日期，请写成 2026-11-02；已按今天显示",
                        "not a date (write 2026-11-02); today is shown",
                    ),
                )
            )
    kinds: set[FindingKind] = set()
    for value in kind or ():
        try:
            kinds.add(FindingKind(_clean(value).lower()))
        except ValueError:
            problems.append(FilterProblem("kind", value, ("没有这个类型", "no such kind")))
    chosen_rule: str | None = None
    typed = _clean(rule).upper()
    if typed:
        rules = set(known_rules)
        families = {r.split("-", 1)[0] for r in rules}
        if typed in rules or typed in families:
            chosen_rule = typed
        else:
            problems.append(
                FilterProblem(
                    "rule",
                    typed,
                    (
                        "没有这个规则或类别（如 ADH、ADH-03）",
                        "no such rule or family (e.g. ADH, ADH-03)",
                    ),
                )
            )
    chosen_hospital: str | None = None
    unknown = False
    typed = _clean(hospital)
    if typed:
        by_fold = {h.casefold(): h for h in known_hospitals}
        found = by_fold.get(typed.casefold())
        if found is None:
            unknown = True
            problems.append(
                FilterProblem(
                    "hospital",
                    typed,
                    (
                        "没有这家医院，或您未获授权；可选：" + "、".join(known_hospitals),
                        "no such hospital, or not granted to you; yours: "
                        + ", ".join(known_hospitals),
                    ),
                )
            )
        else:
            chosen_hospital = found
    within: int | None = None
    typed = _clean(due_within)
    if typed:
        if re.fullmatch(r"\d{1,6}", typed) and int(typed) <= MAX_DUE_WITHIN:
            within = int(typed)
        else:
            problems.append(
                FilterProblem(
                    "due_within",
                    typed,
                    (
                        f"请填写 0–{MAX_DUE_WITHIN} 的整数天数，或留空（不限）",
                        f"write whole days 0–{MAX_DUE_WITHIN}, or leave it empty (any)",
                    ),
                )
            )
    return ParsedFilters(
        as_of=day,
        kinds=frozenset(kinds or default_kinds),
        rule=chosen_rule,
        hospital=chosen_hospital,
        unknown_hospital=unknown,
        physician=_clean(physician) or None,
        due_within=within,
        keep_undated=bool(_clean(undated)),
        problems=problems,
    )


# ---- rows ----------------------------------------------------------------------------------

DRUGS: Final[Mapping[str, Pair]] = {
    "zoledronic_acid": ("唑来膦酸", "zoledronic acid"),
    "denosumab": ("地舒单抗", "denosumab"),
    "ibandronate": ("伊班膦酸", "ibandronate"),
    "incadronate": ("英卡膦酸", "incadronate"),
    "pamidronate": ("帕米膦酸", "pamidronate"),
}
SITES: Final[Mapping[str, Pair]] = {
    "skull": ("颅骨", "skull"),
    "cervical_spine": ("颈椎", "cervical spine"),
    "thoracic_spine": ("胸椎", "thoracic spine"),
    "lumbar_spine": ("腰椎", "lumbar spine"),
    "sacrum": ("骶骨", "sacrum"),
    "pelvis": ("骨盆", "pelvis"),
    "acetabulum": ("髋臼", "acetabulum"),
    "rib": ("肋骨", "rib"),
    "sternum": ("胸骨", "sternum"),
    "clavicle": ("锁骨", "clavicle"),
    "scapula": ("肩胛骨", "scapula"),
    "humerus": ("肱骨", "humerus"),
    "radius_ulna": ("桡尺骨", "radius/ulna"),
    "femur": ("股骨", "femur"),
    "tibia_fibula": ("胫腓骨", "tibia/fibula"),
    "other": ("其他部位", "other site"),
}
MODALITIES: Final[Mapping[str, Pair]] = {
    "bone_scan": ("骨扫描", "bone scan"),
    "ct": ("CT", "CT"),
    "mri": ("MRI", "MRI"),
    "pet_ct": ("PET-CT", "PET-CT"),
    "xray": ("X线", "X-ray"),
    "spect_ct": ("SPECT-CT", "SPECT-CT"),
}


def item_label(item: str | None, lang: str) -> str:
    """The finding's item (a lesion site, ``femur`` or ``T12``) in words; empty if none."""
    if not item:
        return ""
    site, _, rest = item.partition(":")
    words = text(SITES[site], lang) if site in SITES else site
    return f"{words} {rest}".strip()


@dataclass(frozen=True, slots=True)
class PatientContact:
    """What the worklist shows of who the patient is (record ``identity``), and the last BTA
    dose day on or before the as-of day (the reason of an injection row)."""

    name: str | None = None
    phone: str | None = None
    last_dose: dt.date | None = None


FOLLOW_UP_KINDS: Final = frozenset({FindingKind.ACTION, FindingKind.REMINDER, FindingKind.ALERT})
"""Rows that ask someone to act (the phone is shown on these, not on data-needed rows)."""


def reason(item: WorklistItem, contact: PatientContact | None, lang: str) -> str:
    """Why the row is urgent, in plain words: ``唑来膦酸 逾期 11 天；上次 2026-10-21``."""
    values = item.finding.values
    parts: list[str] = []
    drug = values.get("drug")
    if isinstance(drug, str) and drug in DRUGS:
        parts.append(text(DRUGS[drug], lang))
    modality = values.get("modality")
    if isinstance(modality, str) and modality in MODALITIES:
        parts.append(text(MODALITIES[modality], lang))
    if item.kind is FindingKind.DATA_NEEDED:
        missing = values.get("missing")
        head = "需补录" if lang != "en" else "data needed"
        if isinstance(missing, list | tuple) and missing:
            return f"{head}：{len(missing)} 项" if lang != "en" else f"{head}: {len(missing)}"
        return head
    days = item.days_overdue
    if days:
        parts.append(f"逾期 {days} 天" if lang != "en" else f"{days} days overdue")
    elif item.due is not None:
        ahead = (item.due - item.as_of).days
        if ahead == 0:
            parts.append("今天到期" if lang != "en" else "due today")
        else:
            parts.append(f"{ahead} 天后到期" if lang != "en" else f"due in {ahead} days")
    elif item.kind in (FindingKind.ALERT, FindingKind.ACTION):
        parts.append("现在处理" if lang != "en" else "now")
    first = " ".join(parts)
    if drug and contact is not None and contact.last_dose is not None:
        last = contact.last_dose.isoformat()
        return f"{first}；上次 {last}" if lang != "en" else f"{first}; last {last}"
    return first


def known_hospitals(store: Store, principal: Principal) -> list[str]:
    """The hospitals the caller may filter by: those granted (every stored one for ``*``)."""
    granted = principal.hospital_filter()
    with store.engine.connect() as conn:
        query = select(patients.c.hospital_id).distinct()
        if granted is not None:
            query = query.where(patients.c.hospital_id.in_(granted))
        stored = {row[0] for row in conn.execute(query) if row[0]}
    return sorted(stored | set(granted or ()))


def contacts(
    store: Store,
    principal: Principal,
    items: Sequence[WorklistItem],
    as_of: dt.date,
) -> dict[tuple[str, str], PatientContact]:
    """The identity and last dose of the patients of ``items`` (one query): only for patients
    of hospitals granted to ``principal`` (record-format.md: who may see ``identity``)."""
    wanted = {(i.source, i.patient) for i in items if principal.sees(i.hospital)}
    if not wanted:
        return {}
    found: dict[tuple[str, str], PatientContact] = {}
    ids = sorted({pid for _source, pid in wanted})
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(
                patients.c.source, patients.c.id, patients.c.hospital_id, patients.c.record
            ).where(patients.c.id.in_(ids))
        ).all()
    for source, pid, hospital, document in rows:
        if (source, pid) not in wanted or not principal.sees(hospital):
            continue
        data: Any = json.loads(document) if isinstance(document, str | bytes) else document
        identity = data.get("identity") or {}
        doses = [
            d.get("date", "")
            for d in (data.get("events") or {}).get("bta") or ()
            if str(d.get("date", "")) <= as_of.isoformat()
        ]
        last = max(doses) if doses else None
        found[(source, pid)] = PatientContact(
            identity.get("name"),
            identity.get("phone"),
            dt.date.fromisoformat(last) if last else None,
        )
    return found
