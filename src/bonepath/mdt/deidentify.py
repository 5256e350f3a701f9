"""The de-identified case package a regional centre sees (issue 16 item 4; docs/mdt.md).

A referral to a regional MDT centre carries a *package* built here from the referring
hospital's record, never the record itself. What the package keeps and drops:

- **dropped**: the patient's id and source, ``identity`` (name, phone), the physician's id,
  the hospital's id and name (the centre knows the referring hospital from the referral, not
  from the package), the birth date;
- **reduced**: the birth date becomes the age in whole years on the referral day (90 and over
  as ``90``, HIPAA Safe Harbor's top band); every clinical date becomes a day offset from the
  referral day (``day: -35`` = 35 days before the referral, the referral day is day 0), so
  intervals survive (confirmation to first dose, imaging sequence) but no calendar date does;
  a death date becomes ``death_day``;
- **scrubbed**: every free-text value (report text, the MDT decision text, the question, the
  summary's texts, thread messages) goes through :class:`Scrubber`: the patient's recorded
  name, phone and ids are replaced wherever they occur, and so are patterns of Chinese
  resident-ID numbers, mobile and landline numbers, e-mail addresses, labelled record numbers
  (住院号, 门诊号, 病案号, ID …), any run of 6 or more digits, alphanumeric codes with 4 or more
  digits, calendar dates (``2026-10-15``, ``2026/10/15``, ``2026年10月15日``, ``10月15日``),
  labelled names (姓名：…, 联系人 …) and addresses (province/city/district chains, road +
  number, labelled 住址/地址);
- **kept**: codes and numbers (histology, stage, TNM, drivers, lesions with their scores'
  inputs, labs with units, doses), the hospital's city tier and type, the department and the
  physician's title — what a specialist needs to answer.

Pure functions over plain JSON (no web framework, ORM or FHIR library).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

REDACTED: Final = "[已隐去]"
"""What replaces a scrubbed identifier (zh; the English pages show the same mark)."""
DATE_MARK: Final = "[日期]"
AGE_TOP: Final = 90
"""Ages of 90 and over are given as 90 (HIPAA Safe Harbor)."""

_ISO_DAY: Final = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ][0-9:.+\-Z]*)?$")

# identifiers by shape; the order matters (longer, labelled shapes first)
_PATTERNS: Final[tuple[re.Pattern[str], ...]] = (
    # labelled record numbers: 住院号 ZY2026…, 病案号: 12345, ID: P-77
    re.compile(
        r"(?:住院号|门诊号|病案号|病历号|登记号|床号|医保号|医保卡号|社保号|身份证号?|证件号|"
        r"卡号|档案号|ID|Id|id|MRN|No\.?)\s*[:：#]?\s*[A-Za-z0-9][A-Za-z0-9\-_/]*"
    ),
    # Chinese resident identity numbers (18 with a check character, or the old 15 digits)
    re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])"),
    re.compile(r"(?<![0-9A-Za-z])\d{15}(?![0-9A-Za-z])"),
    # e-mail
    re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"),
    # mobile numbers, with or without +86 and separators
    re.compile(r"(?:\+?86[\s\-]?)?1[3-9]\d[\s\-]?\d{4}[\s\-]?\d{4}(?!\d)"),
    # landlines: (010) 1234 5678, 0755-12345678
    re.compile(r"\(?0\d{2,3}\)?[\s\-]?\d{3,4}[\s\-]?\d{4}(?!\d)"),
    # calendar dates
    re.compile(r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*[日号]?"),
    re.compile(r"\d{4}\s*年\s*\d{1,2}\s*月"),
    re.compile(r"(?<!\d)\d{1,2}\s*月\s*\d{1,2}\s*[日号]"),
    re.compile(r"(?<!\d)\d{1,2}/\d{1,2}/\d{2,4}(?!\d)"),
    # labelled addresses: 住址：… up to the next punctuation
    re.compile(r"(?:住址|地址|家住|现住|住在|户籍地?|籍贯|居住地)\s*[:：]?\s*[^，,。；;、\s]+"),
    # address chains: 省/市 … 市/区/县 …, and road + number
    re.compile(
        r"[\u4e00-\u9fff]{2,8}(?:省|自治区|市)[\u4e00-\u9fff]{1,8}(?:市|区|县|州|旗)"
        r"(?:[\u4e00-\u9fff0-9\s\-]{0,12}?(?:镇|乡|村|街道|路|街|大道|巷|弄|号|栋|楼|单元|室))*"
    ),
    re.compile(
        r"[\u4e00-\u9fff]{1,10}(?:路|街|大道|巷|弄|胡同)\s*\d+\s*(?:号|弄)"
        r"(?:\s*[\d\-]+\s*(?:栋|幢|楼|单元|室|号))*"
    ),
    re.compile(r"[\u4e00-\u9fff]{1,8}(?:村|镇|乡)\s*\d+\s*(?:组|号)"),
    # labelled names: 姓名：张三, 联系人 李四, 患者：王五
    re.compile(
        r"(?:姓名|名字|联系人|家属|配偶|患者姓名|病人姓名|患者|病人)\s*[:：]\s*[\u4e00-\u9fff·]{2,4}"
    ),
    re.compile(r"(?:姓名|联系人|家属|配偶)\s*[\u4e00-\u9fff·]{2,4}"),
    re.compile(r"(?:Name|NAME|name|Patient|patient)\s*[:：]\s*[A-Z][a-z]+(?:[ \-][A-Z][a-z]+)*"),
    re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Dr)\.?\s+[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?"),
    # alphanumeric codes with 4+ digits (record numbers without a label): ZY20261015, A-12345
    re.compile(r"(?<![A-Za-z0-9])[A-Za-z][A-Za-z\-_]*\d{4,}[A-Za-z0-9\-_]*"),
    re.compile(r"(?<![A-Za-z0-9])\d{4,}[A-Za-z\-_][A-Za-z0-9\-_]*"),
    # any remaining run of 6 or more digits (separators allowed)
    re.compile(r"(?<!\d)\d(?:[\s\-]?\d){5,}(?!\d)"),
)
_DATE_PATTERNS: Final = frozenset({6, 7, 8, 9})
"""Indexes in :data:`_PATTERNS` of the calendar-date shapes (replaced by :data:`DATE_MARK`)."""


class Scrubber:
    """Replaces identifiers in free text: the patient's own (given) and any by pattern."""

    def __init__(self, known: Iterable[str | None] = ()) -> None:
        values: set[str] = set()
        for value in known:
            text = (value or "").strip()
            if len(text) < 2:
                continue
            values.add(text)
            compact = re.sub(r"[\s\-·.()（）]+", "", text)
            if len(compact) >= 2:
                values.add(compact)
            if compact.isdigit() and len(compact) >= 7:
                # a phone number written with other separators: 138 1234 5678, 138-1234-5678
                values.add(r"[\s\-]?".join(compact))
        literal = sorted((v for v in values if not v.startswith("[")), key=len, reverse=True)
        self._known = [
            re.compile(v if r"[\s\-]?" in v else re.escape(v), re.IGNORECASE) for v in literal
        ]

    def scrub(self, text: str) -> str:
        out = text
        for pattern in self._known:
            out = pattern.sub(REDACTED, out)
        for index, pattern in enumerate(_PATTERNS):
            out = pattern.sub(DATE_MARK if index in _DATE_PATTERNS else REDACTED, out)
        return out


def identifiers_of(record: Mapping[str, Any]) -> list[str]:
    """The patient's own identifiers in a record (record v1 JSON): id, name, phone, …"""
    identity = record.get("identity") or {}
    hospital = record.get("hospital") or {}
    physician = record.get("physician") or {}
    found = [
        str(record.get("id") or ""),
        str(identity.get("name") or ""),
        str(identity.get("phone") or ""),
        str(physician.get("id") or ""),
        str(hospital.get("name") or ""),
    ]
    source = str(record.get("source") or "")
    if source not in {"manual", "fhir", "web", "demo", "synth"}:
        found.append(source)
    return [f for f in found if f]


def age_on(birth: dt.date, day: dt.date) -> int:
    years = day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
    return min(years, AGE_TOP)


def _day(text: str, referral_day: dt.date) -> int | None:
    if not _ISO_DAY.match(text.strip()):
        return None
    try:
        day = dt.date.fromisoformat(text.strip()[:10])
    except ValueError:
        return None
    return (day - referral_day).days


def _day_key(key: str) -> str:
    if key == "date":
        return "day"
    for suffix in ("_date", "_on", "_at"):
        if key.endswith(suffix):
            return key[: -len(suffix)] + "_day"
    return key


_CODE: Final = re.compile(r"^[a-z][a-z0-9_]*$")
_DROPPED_KEYS: Final = frozenset(
    {
        "id",
        "source",
        "patient",
        "patient_id",
        "patient_source",
        "identity",
        "name",
        "phone",
        "address",
        "birth_date",
        "created_by",
        "decided_by",
        "referred_by",
        "added_by",
        "done_by",
        "username",
        "uri",
        "url",
    }
)


_CATALOGUE_KEYS: Final = frozenset({"sources", "title"})
"""Keys of a finding whose text comes from the rule catalogue (rule titles, cited sources such
as ``000_e41800b93e446bea.txt §3``): kept as they are, so findings stay traceable."""


@dataclass(frozen=True, slots=True)
class Deidentifier:
    """Turns JSON of one patient into its de-identified form (the rules in the module doc)."""

    scrubber: Scrubber
    referral_day: dt.date

    def text(self, value: str) -> str:
        return self.scrubber.scrub(value)

    def value(self, value: Any) -> Any:
        if isinstance(value, bool) or value is None or isinstance(value, int | float):
            return value
        if isinstance(value, str):
            day = _day(value, self.referral_day)
            if day is not None:
                return f"D{day:+d}"
            if _CODE.match(value):
                return value
            return self.text(value)
        if isinstance(value, Mapping):
            return self.mapping(value)
        if isinstance(value, Sequence):
            return [self.value(v) for v in value]
        return self.text(str(value))

    def mapping(self, data: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in data.items():
            name = str(key)
            if name in _DROPPED_KEYS:
                continue
            if name in _CATALOGUE_KEYS:  # the rule catalogue's text, not the patient's
                out[name] = value
                continue
            if isinstance(value, str) and (day := _day(value, self.referral_day)) is not None:
                out[_day_key(name)] = day
                continue
            out[name] = self.value(value)
        return out


def deidentified_record(record: Mapping[str, Any], referral_day: dt.date) -> dict[str, Any]:
    """The clinical content of a record v1 document, de-identified (module doc)."""
    tool = Deidentifier(Scrubber(identifiers_of(record)), referral_day)
    body = {k: v for k, v in record.items() if k not in {"format", "hospital", "physician"}}
    out = tool.mapping(body)
    birth = record.get("birth_date")
    if isinstance(birth, str):
        with contextlib.suppress(ValueError):
            out["age"] = age_on(dt.date.fromisoformat(birth[:10]), referral_day)
    hospital = record.get("hospital") or {}
    out["hospital"] = {k: hospital[k] for k in ("city_tier", "type") if hospital.get(k)}
    physician = record.get("physician") or {}
    if physician.get("title"):
        out["physician"] = {"title": physician["title"]}
    return out


def build_package(
    record: Mapping[str, Any],
    *,
    code: str,
    referral_day: dt.date,
    question: str,
    question_text: str = "",
    findings: Sequence[Mapping[str, Any]] = (),
    summary: Mapping[str, Any] | None = None,
    extra_known: Iterable[str] = (),
) -> dict[str, Any]:
    """The case package of a referral: pseudonymous ``code``, age, the de-identified record,
    the question (scrubbed), the open findings (rule ids, titles, sources; dates as day
    offsets) and the MDT case summary when there is one (de-identified the same way)."""
    tool = Deidentifier(Scrubber([*identifiers_of(record), *extra_known]), referral_day)
    clinical = deidentified_record(record, referral_day)
    package: dict[str, Any] = {
        "format": "bonepath-mdt-package/1",
        "code": code,
        "referral_day": 0,
        "age": clinical.pop("age", None),
        "sex": clinical.pop("sex", None),
        "question": {"type": question, "text": tool.text(question_text or "")},
        "record": clinical,
        "findings": [tool.mapping(f) for f in findings],
    }
    if summary:
        package["summary"] = tool.mapping(summary)
    return package


def package_text(package: Mapping[str, Any]) -> str:
    """Every string and number of a package, space-separated (leak counting, search)."""
    parts: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                parts.append(str(k))
                walk(v)
        elif isinstance(value, list | tuple):
            for v in value:
                walk(v)
        elif value is not None:
            parts.append(str(value))

    walk(package)
    return " ".join(parts)
