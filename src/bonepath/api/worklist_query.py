"""The worklist as a nurse asks for it (issue 15 item 1), for the web page and
``GET /api/worklist`` alike: filters read as people type them (never a bare 422; a value that
cannot be used is named, with its field, in the caller's language), and each row's contact —
the patient's name and phone where the record has an ``identity``.

Messages here are ``(zh, en)`` pairs, the way :mod:`bonepath.reminders.model` labels close
reasons; :func:`text` picks the page's language.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import select

from bonepath.population import readable
from bonepath.population.readable import FOLLOW_UP_KINDS, Pair, PatientContact, text
from bonepath.population.worklist import WorklistItem
from bonepath.store.accounts import Principal
from bonepath.store.repository import Store
from bonepath.store.schema import patients
from bonepath.vocab import FindingKind

__all__ = ["FOLLOW_UP_KINDS", "PatientContact", "Pair", "text"]

MAX_DUE_WITHIN: Final = 3650


FIELD_LABELS: Final[Mapping[str, Pair]] = {
    "as_of": ("评估日期", "As of"),
    "kind": ("类型", "Kind"),
    "rule": ("规则或类别", "Rule or family"),
    "hospital": ("医院", "Hospital"),
    "department": ("科室", "Department"),
    "physician": ("医生工号", "Physician ID"),
    "due_within": ("到期天数内", "Due within (days)"),
    "include_undated": ("也列出无到期日的事项", "Also undated items"),
}

LABELS: Final[Mapping[str, Pair]] = {
    "undated": ("也列出无到期日的事项", "also items without a due day"),
    "item": ("部位/项目", "Item"),
    "reason": ("原因", "Why"),
    "phone": ("电话", "Phone"),
    "department": ("科室", "Department"),
    "any_department": ("全部科室", "every department"),
    "filter_problems": ("部分筛选条件未采用：", "Some filters were not used:"),
    "ranking": (
        "排序：先逾期（逾期天数多者在前，再按严重度），再按到期日，最后是需补录的事项。",
        "Order: overdue first (longest overdue, then severity), then by due day, data needed last.",
    ),
    "shortcuts": (
        "键盘：/ 筛选 · j/k 上下移动 · Enter 打开患者 · e 导出 Excel",
        "Keys: / filter · j/k move · Enter open the patient · e export Excel",
    ),
    "views": ("我的视图", "My views"),
    "view_name": ("视图名称", "View name"),
    "save_view": ("保存当前筛选为视图", "Save these filters as a view"),
    "delete_view": ("删除", "Delete"),
    "view_saved": ("视图已保存。", "View saved."),
    "view_deleted": ("视图已删除。", "View deleted."),
    "no_views": ("还没有保存的视图。", "No saved views yet."),
    "view_name_bad": (
        "请填写视图名称（1–60 个字）。",
        "Give the view a name (1 to 60 characters).",
    ),
    "too_many_views": ("最多保存 30 个视图，请先删除一个。", "At most 30 views; delete one first."),
    "export_identity": ("导出含姓名和电话", "Export with names and phones"),
}


@dataclass(frozen=True, slots=True)
class FilterProblem:
    """A filter value that was not used, and why (shown above the list, naming the field)."""

    field: str
    value: str
    message: Pair
    code: str = "UNUSABLE_FILTER"

    def render(self, lang: str) -> str:
        label = text(FIELD_LABELS[self.field], lang)
        if lang == "en":
            return f'{label} "{self.value}": {text(self.message, lang)}'
        return f"{label}“{self.value}”：{text(self.message, lang)}"

    def to_dict(self, lang: str) -> dict[str, str]:
        """For the JSON API: the query parameter as a path, the value, a code and the sentence."""
        return {
            "path": f"/query/{self.field}",
            "value": self.value,
            "code": self.code,
            "problem": self.render(lang),
        }


@dataclass(slots=True)
class ParsedFilters:
    as_of: dt.date
    kinds: frozenset[FindingKind]
    rules: tuple[str, ...]
    hospitals: tuple[str, ...]
    """Hospital ids as stored (``h01`` typed, ``H01`` stored)."""
    unknown_hospital: bool
    """Every hospital asked for is unknown (or not granted): the list is empty, not everyone's."""
    departments: tuple[str, ...]
    physicians: tuple[str, ...]
    due_within: int | None
    keep_undated: bool
    problems: list[FilterProblem] = field(default_factory=list)

    @property
    def rule(self) -> str | None:
        return self.rules[0] if self.rules else None

    @property
    def hospital(self) -> str | None:
        return self.hospitals[0] if self.hospitals else None

    @property
    def physician(self) -> str | None:
        return self.physicians[0] if self.physicians else None


def _clean(value: str | None) -> str:
    return unicodedata.normalize("NFKC", value or "").strip()


def _values(value: str | Sequence[str] | None) -> list[str]:
    """The non-empty values of a filter typed once (``str``) or repeated (a list)."""
    typed = [value] if isinstance(value, str) else list(value or ())
    return [v for v in (_clean(t) for t in typed) if v]


_TRUE: Final = frozenset({"1", "true", "yes", "on", "y", "是"})
_FALSE: Final = frozenset({"0", "false", "no", "off", "n", "否"})


def parse_filters(
    *,
    today: dt.date,
    default_kinds: Iterable[FindingKind],
    known_hospitals: Sequence[str],
    known_rules: Iterable[str],
    as_of: str | None,
    kind: Sequence[str] | None,
    rule: str | Sequence[str] | None,
    hospital: str | Sequence[str] | None,
    physician: str | Sequence[str] | None,
    due_within: str | None,
    undated: str | None,
    department: str | Sequence[str] | None = None,
    department_labels: Mapping[str, Pair] | None = None,
) -> ParsedFilters:
    """The worklist filters from the query as typed (the web page and ``GET /api/worklist``):
    empty means "no filter", full-width digits and letters are read (NFKC), codes
    case-insensitively (a department also by its Chinese or English name); a value that
    cannot be used is a :class:`FilterProblem` naming its field (the list is shown without
    that filter, except an unknown hospital, which shows nothing rather than another
    hospital's list)."""
    problems: list[FilterProblem] = []
    day = today
    typed = _clean(as_of)
    if typed:
        try:
            day = dt.date.fromisoformat(typed.replace("/", "-").replace(".", "-"))
        except ValueError:
            problems.append(
                FilterProblem(
                    "as_of",
                    typed,
                    (
                        "不是日期，请写成 2026-11-02；已按今天显示",
                        "not a date (write 2026-11-02); today is shown",
                    ),
                    "BAD_DATE",
                )
            )
    kinds: set[FindingKind] = set()
    for value in _values(kind):
        try:
            kinds.add(FindingKind(value.lower().replace(" ", "_").replace("-", "_")))
        except ValueError:
            problems.append(
                FilterProblem(
                    "kind",
                    value,
                    (
                        "没有这个类型（可选：待办、提醒、警示、需补录、信息）",
                        "no such kind (action, reminder, alert, data needed, info)",
                    ),
                    "UNKNOWN_KIND",
                )
            )
    chosen_rules: list[str] = []
    rules = set(known_rules)
    families = {r.split("-", 1)[0] for r in rules}
    for value in _values(rule):
        code = value.upper().replace(" ", "")
        if code in rules or code in families:
            chosen_rules.append(code)
        else:
            problems.append(
                FilterProblem(
                    "rule",
                    code,
                    (
                        "没有这个规则或类别（如 ADH、ADH-03）",
                        "no such rule or family (e.g. ADH, ADH-03)",
                    ),
                    "UNKNOWN_RULE",
                )
            )
    chosen_hospitals: list[str] = []
    asked = _values(hospital)
    by_fold = {h.casefold(): h for h in known_hospitals}
    for value in asked:
        found = by_fold.get(value.casefold())
        if found is None:
            problems.append(
                FilterProblem(
                    "hospital",
                    value,
                    (
                        "没有这家医院，或您未获授权；可选：" + "、".join(known_hospitals),
                        "no such hospital, or not granted to you; yours: "
                        + ", ".join(known_hospitals),
                    ),
                    "UNKNOWN_HOSPITAL",
                )
            )
        else:
            chosen_hospitals.append(found)
    chosen_departments: list[str] = []
    labels = department_labels or {}
    by_name: dict[str, str] = {}
    for code, (zh, en) in labels.items():
        by_name.update({code.casefold(): code, zh.casefold(): code, en.casefold(): code})
    for value in _values(department):
        found = by_name.get(value.casefold().replace(" ", "_")) or by_name.get(value.casefold())
        if found is None:
            problems.append(
                FilterProblem(
                    "department",
                    value,
                    (
                        "没有这个科室；可选：" + "、".join(zh for zh, _en in labels.values()),
                        "no such department; one of: "
                        + ", ".join(en for _zh, en in labels.values()),
                    ),
                    "UNKNOWN_DEPARTMENT",
                )
            )
        else:
            chosen_departments.append(found)
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
                    "BAD_DAYS",
                )
            )
    keep = False
    typed = _clean(undated).lower()
    if typed in _TRUE:
        keep = True
    elif typed and typed not in _FALSE:
        problems.append(
            FilterProblem(
                "include_undated",
                typed,
                ("请写 true 或 false", "write true or false"),
                "BAD_FLAG",
            )
        )
    return ParsedFilters(
        as_of=day,
        kinds=frozenset(kinds or default_kinds),
        rules=tuple(dict.fromkeys(chosen_rules)),
        hospitals=tuple(dict.fromkeys(chosen_hospitals)),
        unknown_hospital=bool(asked) and not chosen_hospitals,
        departments=tuple(dict.fromkeys(chosen_departments)),
        physicians=tuple(dict.fromkeys(_values(physician))),
        due_within=within,
        keep_undated=keep,
        problems=problems,
    )


# ---- rows ----------------------------------------------------------------------------------


def item_label(item: str | None, lang: str) -> str:
    return readable.item_label(item, lang)


def reason(item: WorklistItem, contact: PatientContact | None, lang: str) -> str:
    """Why the row is urgent, in plain words: ``唑来膦酸 逾期 11 天；上次 2026-10-21``."""
    return readable.reason(item, contact, lang)


DIRECTORY_TTL_S: Final = 60.0
"""How long the hospital directory of a store is reused while no patient is written."""

_directory: dict[tuple[int, str], tuple[float, object, tuple[str, ...], dict[str, str]]] = {}
_directory_lock = threading.Lock()


def hospital_directory(store: Store) -> tuple[tuple[str, ...], dict[str, str]]:
    """Every known hospital id (registered or named by a stored patient) and their names.

    Reused for :data:`DIRECTORY_TTL_S` while the store's generation is unchanged: reading it
    groups every patient row (≈ 0.2 s at 100,000 patients), too much for every worklist view."""
    from bonepath.api.services import store_generation
    from bonepath.store.hospitals import list_hospitals

    key = (id(store), store.engine.url.render_as_string(hide_password=True))
    generation = store_generation(store)
    now = time.monotonic()
    with _directory_lock:
        hit = _directory.get(key)
    if hit is not None and hit[1] == generation and now - hit[0] < DIRECTORY_TTL_S:
        return hit[2], hit[3]
    infos = list_hospitals(store.engine)
    ids = tuple(h.id for h in infos)
    names = {h.id: h.name for h in infos if h.name}
    with _directory_lock:
        _directory[key] = (now, generation, ids, names)
    return ids, names


def known_hospitals(store: Store, principal: Principal) -> list[str]:
    """The hospitals the caller may filter by: those granted (every known one for ``*``)."""
    granted = principal.hospital_filter()
    known, _names = hospital_directory(store)
    stored = set(known) if granted is None else {h for h in known if h in set(granted)}
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
    by_source: dict[str, list[str]] = {}
    for source, pid in sorted(wanted):
        by_source.setdefault(source, []).append(pid)
    rows: list[Any] = []
    with store.engine.connect() as conn:
        for source, ids in by_source.items():
            # by (source, id): the unique index's order (``id`` alone scanned every patient)
            rows += conn.execute(
                select(
                    patients.c.source, patients.c.id, patients.c.hospital_id, patients.c.record
                ).where(patients.c.source == source, patients.c.id.in_(ids))
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
