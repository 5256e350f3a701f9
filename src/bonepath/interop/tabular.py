"""The CSV/Excel template set: one sheet per event family plus a patients sheet, both languages.

A hospital that cannot produce JSON fills in a workbook (or a directory of CSV files): the
``patients`` sheet holds one row per patient (the top-level fields of record-format.md,
nested objects flattened: ``hospital_id``, ``diagnosis_date``, ``driver_EGFR`` …), and each
event family (``labs``, ``bta``, ``imaging`` …, plus ``lesions``) has a sheet with one row per
event, keyed by the patient's ``source`` and ``id``. Rows are grouped into one format-v1
record per patient, in row order, and validated like any JSON record.

Column headers are written ``中文 / english`` and read in either language (or both), so a
template keeps working when someone retypes a header. The columns, their kinds and accepted
codes come from the record model itself (:mod:`bonepath.record.model`), so the template
cannot drift from the format; only the Chinese labels are written here.

Cells are converted only where the conversion is unambiguous (an Excel date, ``2026/3/5``,
``是``/``否``, a comma-separated list, a coded value written as hospitals write it: ``男``,
``肌酐``, ``安加维``, see :mod:`bonepath.interop.values`); a value that could mean two things
(``3,0``, ``05/03/2026``) or names another product (``普罗力``) is refused with the cell; anything
else is passed through as written, so that the record parser refuses it with its path, which
is reported with the sheet row and column.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Final, Literal, get_args, get_origin

from pydantic import BaseModel

from bonepath.errors import Problem
from bonepath.interop import values
from bonepath.interop.raw import Origin, RawRecord
from bonepath.record import problems as codes
from bonepath.record.model import EVENT_LISTS
from bonepath.record.parse import annotation_at
from bonepath.spreadsheet import csv_row, from_csv_cell, xlsx_value
from bonepath.units import accepted_units
from bonepath.vocab import RECORD_FORMAT, Gene, LabTest

CellKind = Literal["text", "code", "codes", "number", "integer", "date", "boolean"]

UNKNOWN_PATIENT: Final = "UNKNOWN_PATIENT"
"""An event row whose patient (source, id) has no row in the patients sheet."""

README_SHEET: Final = ("readme", "说明")
"""The explanatory sheet (or ``readme.csv``) of a template; ignored on import."""


@dataclass(frozen=True, slots=True)
class TemplateColumn:
    """One column: its English name, Chinese label, where its value goes, and its kind."""

    name: str
    zh: str
    path: tuple[str, ...]  # from the record (patients sheet) or from the list item
    kind: CellKind
    codes: tuple[str, ...] = ()
    required: bool = False
    vocabulary: str | None = None
    """The synonym table of the column's values (an enum name of bonepath.vocab, or ``unit``)."""

    @property
    def header(self) -> str:
        return f"{self.zh} / {self.name}"


@dataclass(frozen=True, slots=True)
class TemplateSheet:
    """One sheet (or CSV file) of the template set."""

    name: str
    zh: str
    list_path: tuple[
        str, ...
    ]  # () for patients; ("events", "labs"); ("bone_metastasis", "lesions")
    columns: tuple[TemplateColumn, ...]
    _by_header: dict[str, TemplateColumn] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for column in self.columns:
            for label in (column.name, column.zh, column.header):
                self._by_header[_normalized(label)] = column

    @property
    def title(self) -> str:
        """The sheet title of the workbook (at most 31 characters, no ``/``)."""
        return f"{self.name} {self.zh}"

    def column_for(self, header: str) -> TemplateColumn | None:
        """The column a header names, in Chinese, English or ``中文 / english``."""
        text = _normalized(header)
        found = self._by_header.get(text)
        if found is None and "/" in text:
            zh, en = text.rsplit("/", 1)
            found = self._by_header.get(en) or self._by_header.get(zh)
        return found


def _normalized(label: str) -> str:
    # NFKC folds full-width forms (（）／，) that Chinese input methods produce.
    text = unicodedata.normalize("NFKC", label).casefold()
    return re.sub(r"\s+", "", text).rstrip("*")


# ---- the template, derived from the record model -----------------------------------------------

_KEY_ZH: Final = {"source": "来源系统", "id": "患者编号"}

_PATIENT_COLUMNS: Final[tuple[tuple[str, str, tuple[str, ...]], ...]] = (
    ("source", "来源系统", ("source",)),
    ("id", "患者编号", ("id",)),
    ("sex", "性别", ("sex",)),
    ("birth_date", "出生日期", ("birth_date",)),
    ("death_date", "死亡日期", ("death_date",)),
    ("smoking", "吸烟史", ("smoking",)),
    ("hospital_id", "医院编号", ("hospital", "id")),
    ("hospital_name", "医院名称", ("hospital", "name")),
    ("city_tier", "城市级别", ("hospital", "city_tier")),
    ("hospital_type", "医院类型", ("hospital", "type")),
    ("department", "科室", ("department",)),
    ("physician_id", "医生编号", ("physician", "id")),
    ("physician_title", "医生职称", ("physician", "title")),
    ("patient_name", "患者姓名", ("identity", "name")),
    ("phone", "联系电话", ("identity", "phone")),
    ("comorbidities", "合并症", ("comorbidities",)),
    ("diagnosis_date", "病理诊断日期", ("cancer", "diagnosis_date")),
    ("histology", "组织学类型", ("cancer", "histology")),
    ("stage", "临床分期", ("cancer", "stage")),
    ("tnm", "TNM分期", ("cancer", "tnm")),
    *(
        (f"driver_{gene.value}", f"{gene.value}状态", ("cancer", "drivers", gene.value))
        for gene in Gene
    ),
    ("pd_l1_tps", "PD-L1 TPS(%)", ("cancer", "pd_l1_tps")),
    ("setting", "疾病阶段", ("cancer", "setting")),
    ("surgery_date", "根治手术日期", ("cancer", "surgery_date")),
    ("recurrence_date", "复发转移日期", ("cancer", "recurrence_date")),
    ("visceral_metastasis", "内脏转移", ("cancer", "visceral_metastasis")),
    ("bm_status", "骨转移状态", ("bone_metastasis", "status")),
    ("bm_confirmed_date", "骨转移确诊日期", ("bone_metastasis", "confirmed_date")),
    ("plan_drug", "计划骨改良药物", ("bta_plan", "drug")),
    ("plan_interval_days", "计划给药间隔(天)", ("bta_plan", "interval_days")),
)

# Sheet name -> (Chinese title, Chinese label of each field of the list item).
_LIST_SHEETS: Final[dict[str, tuple[str, dict[str, str]]]] = {
    "lesions": (
        "骨病灶",
        {
            "site": "部位",
            "kind": "病灶类型",
            "size_mm": "大小(mm)",
            "cortical_involvement_pct": "皮质受累(%)",
            "level": "椎体节段",
            "peritrochanteric": "股骨转子周围",
            "alignment": "脊柱序列",
            "collapse": "椎体塌陷",
            "posterolateral": "后外侧受累",
        },
    ),
    "imaging": (
        "影像检查",
        {
            "date": "检查日期",
            "modality": "检查方式",
            "region": "检查部位",
            "result": "检查结果",
            "bone_window_reviewed": "已阅骨窗",
            "lesion_count": "病灶数",
            "sites": "病灶部位",
            "report_text": "报告文本",
        },
    ),
    "biopsy": ("骨活检", {"date": "活检日期", "site": "活检部位", "result": "病理结果"}),
    "labs": (
        "检验",
        {
            "date": "检验日期",
            "test": "检验项目",
            "value": "结果值",
            "unit": "单位",
            "lln": "参考下限",
            "uln": "参考上限",
        },
    ),
    "vitals": ("体征", {"date": "测量日期", "weight_kg": "体重(kg)", "height_cm": "身高(cm)"}),
    "performance": (
        "体能状态",
        {
            "date": "评估日期",
            "ecog": "ECOG评分",
            "kps": "KPS评分",
            "life_expectancy_months": "预计生存期(月)",
        },
    ),
    "symptoms": (
        "症状",
        {
            "date": "评估日期",
            "bone_pain": "骨痛评分(NRS)",
            "pain_sites": "疼痛部位",
            "neuro_deficit": "神经功能缺损",
            "mechanical_pain": "机械性疼痛",
            "frankel": "Frankel分级",
        },
    ),
    "bta": (
        "骨改良药物",
        {
            "date": "给药日期",
            "drug": "药物",
            "dose_mg": "剂量(mg)",
            "route": "给药途径",
            "interval_days": "给药间隔(天)",
        },
    ),
    "bta_stop": ("骨改良药物停药", {"date": "停药日期", "reason": "停药原因"}),
    "supplements": (
        "钙与维生素D",
        {
            "date": "开始日期",
            "calcium_mg_daily": "钙(mg/天)",
            "vitamin_d_iu_daily": "维生素D(IU/天)",
        },
    ),
    "dental": ("口腔检查", {"date": "检查日期", "result": "检查结果"}),
    "medications": ("用药", {"date": "用药日期", "class": "药物类别", "action": "开始或停止"}),
    "treatments": (
        "治疗",
        {
            "date": "治疗日期",
            "kind": "治疗类型",
            "site": "治疗部位",
            "dose_gy": "剂量(Gy)",
            "fractions": "分次数",
        },
    ),
    "adverse_events": (
        "不良事件",
        {"date": "发生日期", "kind": "事件类型", "grade": "CTCAE分级", "stage": "MRONJ分期"},
    ),
    "sre": ("骨相关事件", {"date": "发生日期", "kind": "事件类型"}),
    "mdt": (
        "多学科讨论",
        {
            "date": "讨论日期",
            "decision": "讨论决定",
            "attendees": "参会科室",
            "question": "讨论问题",
            "decisions": "决定代码",
            "remote": "远程会诊",
            "centre": "区域中心",
        },
    ),
}


def _describe(loc: Sequence[str | int]) -> tuple[CellKind, tuple[str, ...], bool, str | None]:
    """Kind, accepted codes, required-ness and vocabulary of the record field at ``loc``."""
    annotation = annotation_at(loc)
    kind: CellKind
    accepted: tuple[str, ...] = ()
    vocabulary: str | None = None
    if get_origin(annotation) is tuple:
        kind, annotation = "codes", get_args(annotation)[0]
    else:
        kind = "text"
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        accepted = tuple(str(member.value) for member in annotation)
        kind = "codes" if kind == "codes" else "code"
        vocabulary = annotation.__name__
    elif get_origin(annotation) is Literal:
        accepted = tuple(str(value) for value in get_args(annotation))
        kind = "integer"
    elif annotation is bool:
        kind = "boolean"
    elif annotation is int:
        kind = "integer"
    elif annotation is float:
        kind = "number"
    elif annotation is dt.date:
        kind = "date"
    elif annotation is not str and kind != "codes":
        raise TypeError(f"no template cell kind for {loc}: {annotation!r}")
    return kind, accepted, _is_required(loc), vocabulary


def _is_required(loc: Sequence[str | int]) -> bool:
    """Whether the model requires the field at ``loc`` (given its parent object exists)."""
    parent = annotation_at(loc[:-1])
    if isinstance(parent, type) and issubclass(parent, BaseModel):
        for name, info in parent.model_fields.items():
            if loc[-1] in (name, info.alias):
                return info.is_required()
    return False


def _patients_sheet() -> TemplateSheet:
    columns = []
    for name, zh, path in _PATIENT_COLUMNS:
        kind, accepted, required, vocabulary = _describe(path)
        # A field of an optional group (hospital, bta_plan) is required only with its group.
        required = required and all(_is_required(path[:depth]) for depth in range(1, len(path)))
        columns.append(
            TemplateColumn(name, zh, path, kind, accepted, required or name == "id", vocabulary)
        )
    return TemplateSheet("patients", "患者", (), tuple(columns))


def _list_sheet(name: str, zh: str, labels: Mapping[str, str]) -> TemplateSheet:
    list_path = ("bone_metastasis", "lesions") if name == "lesions" else ("events", name)
    item = annotation_at((*list_path, 0))
    fields = [info.alias or field_name for field_name, info in item.model_fields.items()]
    missing = set(fields) - set(labels)
    if missing:
        raise RuntimeError(f"template sheet {name}: no Chinese label for {sorted(missing)}")
    columns = [
        TemplateColumn("source", _KEY_ZH["source"], ("source",), "text"),
        TemplateColumn("id", _KEY_ZH["id"], ("id",), "text", required=True),
    ]
    for field_name in fields:
        kind, accepted, required, vocabulary = _describe((*list_path, 0, field_name))
        if name == "labs" and field_name == "unit":  # accepted per test (VAL-03)
            accepted = tuple(f"{test.value}: {'|'.join(accepted_units(test))}" for test in LabTest)
            vocabulary = "unit"
        columns.append(
            TemplateColumn(
                field_name,
                labels[field_name],
                (field_name,),
                kind,
                accepted,
                required,
                vocabulary,
            )
        )
    return TemplateSheet(name, zh, list_path, tuple(columns))


def _build_sheets() -> dict[str, TemplateSheet]:
    sheets = [_patients_sheet()]
    names = ["lesions", *EVENT_LISTS]
    if set(names) != set(_LIST_SHEETS):
        raise RuntimeError(f"template sheets {sorted(_LIST_SHEETS)} != record lists {names}")
    sheets += [_list_sheet(name, *_LIST_SHEETS[name]) for name in names]
    return {sheet.name: sheet for sheet in sheets}


SHEETS: Final[dict[str, TemplateSheet]] = _build_sheets()
"""The template set by English sheet name: ``patients``, ``lesions``, then the event lists."""


def sheet_for(title: str) -> TemplateSheet | None:
    """The sheet a sheet title or CSV file stem names (``labs``, ``检验``, ``labs 检验``)."""
    text = _normalized(title)
    for sheet in SHEETS.values():
        if text in (_normalized(sheet.name), _normalized(sheet.zh), _normalized(sheet.title)):
            return sheet
    for token in re.split(r"[\s_-]+", title.strip()):  # "检验-labs", "labs 检验 (2)"
        for sheet in SHEETS.values():
            if _normalized(token) in (sheet.name, _normalized(sheet.zh)):
                return sheet
    return None


def _is_readme(title: str) -> bool:
    return any(_normalized(token) in README_SHEET for token in re.split(r"[\s_-]+", title))


# ---- cells ---------------------------------------------------------------------------------------

_TRUE: Final = frozenset({"true", "yes", "y", "1", "是", "有", "t"})
_FALSE: Final = frozenset({"false", "no", "n", "0", "否", "无", "f"})
_NONE_LIST: Final = frozenset({"none", "无"})
_LIST_SEPARATORS: Final = re.compile(r"[,，、;；\s]+")


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def cell_value(kind: CellKind, value: Any) -> Any:
    """The JSON value of a non-blank cell; a value that does not fit, or that would be refused
    (``3,0``), is returned as written. Coded values are taken as written (see
    :func:`convert_cell` for a column's synonyms)."""
    converted, _refusal = _convert(kind, None, "", value)
    return converted


def convert_cell(column: TemplateColumn, value: Any) -> tuple[Any, values.CellRefusal | None]:
    """The JSON value of a non-blank cell of ``column`` and, when the cell is refused before
    parsing (an ambiguous number or date, an unknown or wrong coded value), why. A refused
    cell's value is returned as written (the parser's own problem at its path is then replaced
    by the refusal)."""
    return _convert(column.kind, column, column.header, value)


_UNIT_SUFFIXES: Final = frozenset({"mg", "kg", "cm", "mm", "gy", "pct", "tps"})


def _convert(
    kind: CellKind, column: TemplateColumn | None, what: str, value: Any
) -> tuple[Any, values.CellRefusal | None]:
    if isinstance(value, str):
        value = value.strip()
    table = values.vocabulary(column.vocabulary) if column and column.vocabulary else None
    if kind in ("text", "code"):
        if isinstance(value, float) and value.is_integer():
            value = str(int(value))  # an id typed as a number in Excel
        # "'=x" is how bonepath's CSV writer keeps "=x" from being a formula
        text = from_csv_cell(value) if isinstance(value, str) else str(value)
        if column is not None and column.vocabulary == "unit":
            return values.resolve_unit(text) or text, None
        if table is not None and kind == "code":
            resolved = table.resolve(text, what)
            if isinstance(resolved, values.CellRefusal):
                return text, resolved
            return resolved, None
        return text, None
    if kind == "codes":
        text = str(value)
        if text.casefold() in _NONE_LIST:
            return [], None
        parts = [part for part in _LIST_SEPARATORS.split(text) if part]
        if table is None:
            return parts, None
        resolved_parts = []
        for part in parts:
            resolved = table.resolve(part, what)
            if isinstance(resolved, values.CellRefusal):
                return parts, resolved
            resolved_parts.append(resolved)
        return resolved_parts, None
    if kind == "boolean":
        if isinstance(value, bool):
            return value, None
        text = str(value).casefold()
        return (True if text in _TRUE else False if text in _FALSE else value), None
    if kind == "date":
        date = values.parse_date(value)
        if isinstance(date, values.CellRefusal):
            return value, date
        return (value if date is None else date), None
    return _number(value, integer=kind == "integer", column=column)


def _number(
    value: Any, *, integer: bool, column: TemplateColumn | None = None
) -> tuple[Any, values.CellRefusal | None]:
    if isinstance(value, bool):
        return value, None
    number: float | int
    if isinstance(value, int | float):
        number = value
    else:
        text = str(value)
        suffix = column.name.rsplit("_", 1)[-1] if column is not None else ""
        if suffix in _UNIT_SUFFIXES:  # "120 mg" in 剂量(mg): the column's own unit
            unit = "%" if suffix in ("pct", "tps") else suffix
            folded = values.normalized(text)
            if folded.endswith(unit) and folded != unit:
                text = folded[: -len(unit)]
        parsed = values.parse_number(text)
        if parsed is None:
            return value, None  # "12 g", "NaN": the parser refuses it as not a number
        if isinstance(parsed, values.CellRefusal):
            return value, parsed
        number = parsed
    if integer and float(number).is_integer():
        return int(number), None  # Excel stores 2 as 2.0; a count or grade is a whole number
    return number, None


# ---- rows -> records -----------------------------------------------------------------------------


@dataclass(slots=True)
class SheetRows:
    """The rows of one sheet or CSV file: a header and numbered data rows."""

    sheet: TemplateSheet
    location: str  # "dir/labs.csv" or "book.xlsx[labs 检验]"
    header: list[Any]
    rows: Iterable[tuple[int, list[Any]]]

    aliases: Mapping[str, str] = field(default_factory=dict)
    """A column mapping's headers (normalized) -> template column names."""
    value_maps: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """A column mapping's own value codes: template column name -> normalized text -> value."""

    def at(self, row: int) -> str:
        return f"{self.location}:{row}"

    def column_for(self, header: str) -> TemplateColumn | None:
        """The template column of a header: by the mapping when there is one, else by name."""
        if self.aliases:
            name = self.aliases.get(_normalized(header))
            return None if name is None else self.sheet.column_for(name)
        return self.sheet.column_for(header)

    def value_for(self, column: TemplateColumn, value: Any) -> Any:
        """A cell's value after the mapping's own codes for the column (``[values]``)."""
        table = self.value_maps.get(column.name)
        if table and isinstance(value, str | int | float) and not isinstance(value, bool):
            text = str(int(value)) if isinstance(value, float) and value.is_integer() else value
            return table.get(values.normalized(str(text)), value)
        return value


class TemplateProblem(Exception):
    """A template that cannot be read at all (no patients sheet, no id column, …)."""

    def __init__(self, location: str, problem: Problem) -> None:
        super().__init__(problem.problem)
        self.location = location
        self.problem = problem


def records_from_sheets(
    sheets: Sequence[SheetRows], *, where: str, position: int = 0
) -> Iterator[RawRecord]:
    """Group the rows of a template set into one raw record per patient, in patients-row order.

    ``where`` names the set (the workbook or directory) in a problem of the whole set.
    """
    try:
        _check_headers(sheets)
        yield from _records(sheets, where, position)
    except TemplateProblem as exc:
        yield RawRecord(exc.location, None, problems=(exc.problem,), position=position)


@dataclass(slots=True)
class _Patient:
    data: dict[str, Any]
    origins: dict[str, Origin]
    location: str
    rows: list[str] = field(default_factory=list)
    refused: dict[str, values.CellRefusal] = field(default_factory=dict)

    def cell_problems(self) -> tuple[tuple[Problem, ...], dict[str, str]]:
        problems = tuple(
            Problem(path, refusal.code, refusal.en, refusal.accepted)
            for path, refusal in self.refused.items()
        )
        return problems, {path: refusal.zh for path, refusal in self.refused.items()}


def _records(sheets: Sequence[SheetRows], where: str, position: int) -> Iterator[RawRecord]:
    by_name: dict[str, SheetRows] = {}
    for rows in sheets:
        if rows.sheet.name in by_name:
            raise TemplateProblem(
                rows.location,
                Problem(
                    "",
                    codes.CONTRADICTION,
                    f"two {rows.sheet.name} sheets ({by_name[rows.sheet.name].location} and "
                    f"{rows.location}); put all {rows.sheet.name} rows in one",
                ),
            )
        by_name[rows.sheet.name] = rows
    if "patients" not in by_name:
        raise TemplateProblem(
            where,
            Problem(
                "",
                codes.MISSING_FIELD,
                "the template has no patients sheet (patients.csv / 患者); every patient "
                "needs a row there",
                ("patients", "患者"),
            ),
        )
    patients: dict[tuple[str, str], _Patient] = {}
    unnamed: list[_Patient] = []
    for number, cells in _data_rows(by_name["patients"]):
        data: dict[str, Any] = {"format": RECORD_FORMAT}
        origins: dict[str, Origin] = {}
        location = by_name["patients"].at(number)
        origins[""] = Origin(location)
        refused: dict[str, values.CellRefusal] = {}
        _fill(by_name["patients"], cells, data, origins, location, refused=refused)
        key = _key(data)
        if key is None:
            unnamed.append(_Patient(data, origins, location, refused=refused))
        elif key in patients:
            patients[key].rows.append(location)
        else:
            patients[key] = _Patient(data, origins, location, refused=refused)
    orphans: dict[tuple[str, str], list[str]] = {}
    for name, rows in by_name.items():
        if name == "patients":
            continue
        for number, cells in _data_rows(rows):
            item: dict[str, Any] = {}
            location = rows.at(number)
            key_cells: dict[str, Any] = {}
            item_origins: dict[str, Origin] = {}
            item_refused: dict[str, values.CellRefusal] = {}
            _fill(rows, cells, item, item_origins, location, keys=key_cells, refused=item_refused)
            if not item:
                continue  # only the patient key filled in: an empty row of a prepared sheet
            key = _key(key_cells)
            patient = patients.get(key) if key else None
            if patient is None:
                orphans.setdefault(key or ("manual", ""), []).append(location)
                continue
            items = _list_at(patient.data, rows.sheet.list_path)
            base = "/" + "/".join((*rows.sheet.list_path, str(len(items))))
            items.append(item)
            patient.origins[base] = Origin(location)
            for pointer, origin in item_origins.items():
                patient.origins[base + pointer] = origin
            for pointer, refusal in item_refused.items():
                patient.refused[base + pointer] = refusal
    for patient in [*patients.values(), *unnamed]:
        problems: tuple[Problem, ...] = ()
        if patient.rows:
            problems = (
                Problem(
                    "/id",
                    codes.CONTRADICTION,
                    f"patient ({patient.data.get('source', 'manual')}, {patient.data['id']}) "
                    f"has more than one row in the patients sheet ({patient.location}, "
                    f"{', '.join(patient.rows)}); keep one row per patient",
                ),
            )
        cell_problems, problems_zh = patient.cell_problems()
        yield RawRecord(
            patient.location,
            patient.data,
            patient.origins,
            problems,
            position,
            cell_problems=cell_problems,
            problems_zh=problems_zh,
        )
    for (source, id_), locations in orphans.items():
        shown = f"{', '.join(locations[:5])}{' …' if len(locations) > 5 else ''}"
        if id_:
            problem = Problem(
                "/id",
                UNKNOWN_PATIENT,
                f"{len(locations)} row(s) name patient {id_!r} (source {source!r}), who has no "
                f"row in the patients sheet ({shown}); add the patient to the patients sheet "
                "or correct the id/source of these rows",
            )
        else:
            problem = Problem(
                "/id",
                codes.MISSING_FIELD,
                f"{len(locations)} row(s) have no patient id ({shown}); fill in 患者编号 / id",
            )
        known = {"source": source, "id": id_} if id_ else None
        yield RawRecord(locations[0], known, problems=(problem,), position=position)


def _data_rows(rows: SheetRows) -> Iterator[tuple[int, list[Any]]]:
    for number, cells in rows.rows:
        if any(not _is_blank(cell) for cell in cells):
            yield number, cells


def _key(data: Mapping[str, Any]) -> tuple[str, str] | None:
    id_ = data.get("id")
    source = data.get("source", "manual")
    if not isinstance(id_, str) or not isinstance(source, str):
        return None
    return (source, id_)


def _fill(
    rows: SheetRows,
    cells: Sequence[Any],
    target: dict[str, Any],
    origins: dict[str, Origin],
    location: str,
    *,
    keys: dict[str, Any] | None = None,
    refused: dict[str, values.CellRefusal] | None = None,
) -> None:
    """Put the non-blank cells of a row into ``target`` (keys of list rows into ``keys``, cells
    refused before parsing into ``refused`` by JSON Pointer)."""
    for header, value in zip(rows.header, cells, strict=False):
        if _is_blank(value) or _is_blank(header):
            continue
        column = rows.column_for(str(header))
        if column is None:
            # Not a template column: kept under its header, so the parser refuses the unknown
            # field with its path instead of the value being silently dropped.
            path: tuple[str, ...] = (str(header).strip(),)
            converted: Any = value.strip() if isinstance(value, str) else value
        else:
            path = column.path
            converted, refusal = convert_cell(column, rows.value_for(column, value))
            if keys is not None and column.name in ("source", "id"):
                keys[column.name] = converted
                continue
            if refusal is not None and refused is not None:
                refused["/" + "/".join(path)] = refusal
        _set_in(target, path, converted)
        origins["/" + "/".join(path)] = Origin(location, str(header).strip())


def _set_in(target: dict[str, Any], path: Sequence[str], value: Any) -> None:
    for part in path[:-1]:
        child = target.setdefault(part, {})
        if not isinstance(child, dict):  # pragma: no cover - template paths never collide
            raise TypeError(f"template path collision at {part}")
        target = child
    target[path[-1]] = value


def _list_at(data: dict[str, Any], path: Sequence[str]) -> list[Any]:
    target = data
    for part in path[:-1]:
        target = target.setdefault(part, {})
    items = target.setdefault(path[-1], [])
    assert isinstance(items, list)
    return items


# ---- CSV and Excel -------------------------------------------------------------------------------


def _decode_csv(raw: bytes) -> str:
    """UTF-8 (with or without BOM); else GB18030, what Excel on Chinese Windows writes."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("gb18030")


def read_csv_set(directory: Path, members: Sequence[Path]) -> Iterator[RawRecord]:
    """A template set of CSV files (``patients.csv``, ``labs.csv`` …) as raw records."""
    sheets: list[SheetRows] = []
    size = 0
    for path in members:
        raw = path.read_bytes()
        size += len(raw)
        if _is_readme(path.stem):
            continue
        table = list(csv.reader(io.StringIO(_decode_csv(raw), newline="")))
        sheet = sheet_for(path.stem)
        if sheet is None:
            if any(any(not _is_blank(cell) for cell in row) for row in table):
                yield _unknown_sheet(str(path), f"file {path.name}")
                return
            continue
        header = table[0] if table else []
        sheets.append(SheetRows(sheet, str(path), list(header), _numbered(table)))
    yield from records_from_sheets(sheets, where=str(directory), position=size)


def read_workbook(path: Path) -> Iterator[RawRecord]:
    """A template workbook (``.xlsx``) as raw records."""
    from openpyxl import load_workbook

    size = path.stat().st_size
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError, InvalidFileException…
        problem = Problem("", codes.MALFORMED_JSON, f"not a readable .xlsx workbook ({exc})")
        yield RawRecord(str(path), None, problems=(problem,), position=size)
        return
    try:
        sheets: list[SheetRows] = []
        for worksheet in workbook.worksheets:
            title = str(worksheet.title)
            if _is_readme(title):
                continue
            table = [list(row) for row in worksheet.iter_rows(values_only=True)]
            sheet = sheet_for(title)
            if sheet is None:
                if any(any(not _is_blank(cell) for cell in row) for row in table):
                    yield _unknown_sheet(f"{path}[{title}]", f"sheet {title!r}")
                    return
                continue
            header = table[0] if table else []
            sheets.append(SheetRows(sheet, f"{path}[{title}]", list(header), _numbered(table)))
    finally:
        workbook.close()
    yield from records_from_sheets(sheets, where=str(path), position=size)


def _numbered(table: list[list[Any]]) -> list[tuple[int, list[Any]]]:
    return [(number, row) for number, row in enumerate(table[1:], start=2)]


def _unknown_sheet(location: str, what: str) -> RawRecord:
    accepted = tuple(sheet.title for sheet in SHEETS.values())
    problem = Problem(
        "",
        codes.UNKNOWN_FIELD,
        f"{what} is not a sheet of the bonepath template; rename it to one of the template "
        "sheets (English or Chinese name) or remove it",
        accepted,
    )
    return RawRecord(location, None, problems=(problem,))


def _check_headers(sheets: Sequence[SheetRows]) -> None:
    for rows in sheets:
        named = {
            column.name
            for h in rows.header
            if not _is_blank(h)
            if (column := rows.column_for(str(h)))
        }
        if "id" not in named:
            raise TemplateProblem(
                rows.at(1),
                Problem(
                    "",
                    codes.MISSING_FIELD,
                    f"the {rows.sheet.name} sheet has no patient id column "
                    "(患者编号 / id) in its first row",
                    ("患者编号 / id",),
                ),
            )


# ---- writing empty templates ------------------------------------------------------------------


def _record_path(sheet: TemplateSheet, column: TemplateColumn) -> str:
    """Where a column's value goes in the record (``i`` = the row's item in its list)."""
    if sheet.list_path and column.name in ("source", "id"):
        return f"/{column.name} (of the patient)"
    item = ("i",) if sheet.list_path else ()
    return "/" + "/".join((*sheet.list_path, *item, *column.path))


def readme_rows() -> list[tuple[str, str, str, str, str, str]]:
    """The documentation of every column: sheet, header, record path, kind, codes, required."""
    kinds_zh = {
        "text": "文本 text",
        "code": "代码 code",
        "codes": "代码列表 codes (a, b)",
        "number": "数值 number",
        "integer": "整数 integer",
        "date": "日期 date (YYYY-MM-DD)",
        "boolean": "是/否 yes/no",
    }
    rows = []
    for sheet in SHEETS.values():
        for column in sheet.columns:
            path = _record_path(sheet, column)
            rows.append(
                (
                    sheet.title,
                    column.header,
                    path,
                    kinds_zh[column.kind],
                    ", ".join(column.codes),
                    "必填 required" if column.required else "",
                )
            )
    return rows


def template_rows(record: Mapping[str, Any]) -> dict[str, list[list[Any]]]:
    """The rows of one format-v1 record (JSON data) in each template sheet.

    The inverse of reading a template: lists become ``a, b``, booleans stay booleans, dates
    stay ISO strings; reading the rows back gives the same record.
    """
    out: dict[str, list[list[Any]]] = {name: [] for name in SHEETS}
    key = {"source": record.get("source", "manual"), "id": record.get("id")}
    for sheet in SHEETS.values():
        if not sheet.list_path:
            out[sheet.name].append([_cell(_get_in(record, c.path)) for c in sheet.columns])
            continue
        for item in _get_in(record, sheet.list_path) or ():
            out[sheet.name].append(
                [
                    _cell(key[c.name] if c.name in key else _get_in(item, c.path))
                    for c in sheet.columns
                ]
            )
    return out


def _get_in(data: Any, path: Sequence[str]) -> Any:
    for part in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(part)
    return data


def _cell(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return ", ".join(str(part) for part in value) if value else "none"
    return value


_README_HEADER: Final = (
    "表 sheet",
    "列 column",
    "记录路径 record path",
    "类型 kind",
    "可选值 codes",
    "必填 required",
)


def write_csv_set(directory: Path, records: Iterable[Mapping[str, Any]] = ()) -> list[Path]:
    """CSV templates (UTF-8 with BOM, so Excel opens them in Chinese), filled with ``records``."""
    directory.mkdir(parents=True, exist_ok=True)
    rows: dict[str, list[list[Any]]] = {name: [] for name in SHEETS}
    for record in records:
        for name, sheet_rows in template_rows(record).items():
            rows[name].extend(sheet_rows)
    written = []
    for sheet in SHEETS.values():
        path = directory / f"{sheet.name}.csv"
        with path.open("w", encoding="utf-8-sig", newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow([column.header for column in sheet.columns])
            writer.writerows(csv_row(_csv_cell(value) for value in row) for row in rows[sheet.name])
        written.append(path)
    path = directory / "readme.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(_README_HEADER)
        writer.writerows(readme_rows())
    written.append(path)
    return written


def _csv_cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def write_workbook(path: Path, records: Iterable[Mapping[str, Any]] = ()) -> Path:
    """A template workbook (a readme sheet, then one sheet per template sheet), filled with
    ``records``; with none, the empty template of ``bonepath template FILE.xlsx``."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    readme = workbook.active
    readme.title = f"{README_SHEET[0]} {README_SHEET[1]}"
    readme.append(list(_README_HEADER))
    for described in readme_rows():
        readme.append(list(described))
    bold = Font(bold=True)
    for cell in readme[1]:
        cell.font = bold
    for letter, width in zip("ABCDEF", (24, 30, 40, 22, 60, 14), strict=True):
        readme.column_dimensions[letter].width = width
    worksheets = {}
    for sheet in SHEETS.values():
        worksheet = workbook.create_sheet(sheet.title)
        worksheets[sheet.name] = worksheet
        worksheet.append([column.header for column in sheet.columns])
        worksheet.freeze_panes = "A2"
        for index, column in enumerate(sheet.columns, start=1):
            cell = worksheet.cell(row=1, column=index)
            cell.font = bold
            letter = cell.column_letter
            worksheet.column_dimensions[letter].width = max(12, len(column.header) + 6)
            choices = ",".join(column.codes)
            if column.kind == "code" and choices and len(choices) <= 255:
                validation = DataValidation(type="list", formula1=f'"{choices}"', allow_blank=True)
                validation.error = f"{column.header}: {choices}"
                worksheet.add_data_validation(validation)
                validation.add(f"{letter}2:{letter}5000")
    for record in records:
        for name, sheet_rows in template_rows(record).items():
            worksheet = worksheets[name]
            for cells in sheet_rows:
                row = worksheet.max_row + 1
                for index, value in enumerate(cells, start=1):
                    # text stays text: an id "=1+1" must not become a live formula
                    xlsx_value(worksheet.cell(row=row, column=index), value)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


def mapping_markdown() -> str:
    """The column mapping of every sheet as Markdown (docs/import.md holds it verbatim)."""
    lines: list[str] = []
    for sheet in SHEETS.values():
        if sheet.list_path:
            where = "one row per item of `/" + "/".join(sheet.list_path) + "`"
        else:
            where = "one row per patient"
        lines += [
            f"#### `{sheet.name}` — {sheet.zh} ({where})",
            "",
            "| column header | record path | kind | accepted codes | required |",
            "|---|---|---|---|---|",
        ]
        for column in sheet.columns:
            path = _record_path(sheet, column)
            lines.append(
                f"| `{column.header}` | `{path}` | {column.kind} | "
                f"{', '.join(column.codes).replace('|', '/')} | {'yes' if column.required else ''} |"
            )
        lines.append("")
    return "\n".join(lines)
