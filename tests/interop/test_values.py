"""Values as hospitals write them (issue 14 item 1): the synonym tables as checked data, the
number and date parsers (property-based: no input crashes, round trips hold), and the cells of
a template read with them."""

from __future__ import annotations

import datetime as dt
import tomllib
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bonepath import vocab
from bonepath.errors import RecordRefused
from bonepath.interop import values
from bonepath.interop.files import find_inputs, read_input
from bonepath.interop.tabular import SHEETS, convert_cell
from bonepath.record.parse import parse_record

TODAY = dt.date(2026, 11, 23)

# ---- the tables --------------------------------------------------------------------------------


def test_every_table_loads_and_every_synonym_cites_a_source() -> None:
    names = values.vocabulary_names()
    assert set(names) >= {
        "Sex",
        "Histology",
        "DriverStatus",
        "Setting",
        "Department",
        "PhysicianTitle",
        "CityTier",
        "LabTest",
        "Drug",
        "unit",
    }
    for name in names:
        table = values.vocabulary(name)
        assert table is not None
        assert all(source in (*table.sources, "code") for _, source in table.lookup.values())
        enum = getattr(vocab, name, None)
        if enum is not None:
            assert set(table.labels) == {member.value for member in enum}


def test_a_table_naming_a_code_twice_is_refused_at_load() -> None:
    text = files("bonepath.interop.synonyms").joinpath("sex.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    data["codes"]["female"]["synonyms"]["男性"] = "his"
    with pytest.raises(ValueError, match="means both male and female"):
        values._build("Sex", data)


@pytest.mark.parametrize(
    ("name", "text", "code"),
    [
        ("Sex", "男", "male"),
        ("Sex", " 女性 ", "female"),
        ("Histology", "腺癌", "adenocarcinoma"),
        ("Histology", "鳞状细胞癌", "squamous"),
        ("Histology", "肺鳞癌", "squamous"),
        ("Histology", "大细胞癌", "large_cell"),
        ("Histology", "小细胞肺癌", "sclc"),
        ("Histology", "非小细胞肺癌", "nsclc_nos"),
        ("DriverStatus", "阳性", "positive"),
        ("DriverStatus", "突变", "positive"),
        ("DriverStatus", "野生型", "negative"),
        ("DriverStatus", "阴性", "negative"),
        ("DriverStatus", "未检测", "unknown"),
        ("Setting", "晚期", "advanced"),
        ("Department", "肿瘤内科", "oncology"),
        ("Department", "呼吸与危重症医学科", "respiratory"),
        ("Department", "胸外科", "thoracic_surgery"),
        ("Department", "放疗科", "radiotherapy"),
        ("Department", "骨科", "orthopedics"),
        ("Department", "核医学科", "nuclear_medicine"),
        ("Department", "影像科", "radiology"),
        ("PhysicianTitle", "主任医师", "chief"),
        ("PhysicianTitle", "副主任医师", "associate_chief"),
        ("PhysicianTitle", "主治医师", "attending"),
        ("CityTier", "三四线城市", "tier3-4"),
        ("Stage", "Ⅳ期", "IV"),
        ("Stage", "IIIB", "III"),
        ("LabTest", "肌酐", "creatinine"),
        ("LabTest", "血肌酐", "creatinine"),
        ("LabTest", "Cr", "creatinine"),
        ("LabTest", "CREA", "creatinine"),
        ("LabTest", "SCr", "creatinine"),
        ("LabTest", "肌酐(CREA)", "creatinine"),
        ("LabTest", "*肌酐", "creatinine"),
        ("LabTest", "钙", "calcium"),
        ("LabTest", "血钙", "calcium"),
        ("LabTest", "Ca", "calcium"),
        ("LabTest", "白蛋白", "albumin"),
        ("LabTest", "ALB", "albumin"),
        ("LabTest", "碱性磷酸酶", "alp"),
        ("LabTest", "ALP", "alp"),
        ("LabTest", "25-羟基维生素D", "vitamin_d"),
        ("Drug", "唑来膦酸", "zoledronic_acid"),
        ("Drug", "择泰", "zoledronic_acid"),
        ("Drug", "唑来膦酸注射液 4mg/5ml", "zoledronic_acid"),
        ("Drug", "地舒单抗", "denosumab"),
        ("Drug", "地舒单抗注射液（安加维）", "denosumab"),
        ("Drug", "XGEVA", "denosumab"),
        ("Route", "皮下注射", "sc"),
        ("Route", "静滴", "iv"),
        ("Modality", "骨ECT", "bone_scan"),
        ("Modality", "胸部CT", "ct"),
    ],
)
def test_values_as_hospitals_write_them(name: str, text: str, code: str) -> None:
    table = values.vocabulary(name)
    assert table is not None
    assert table.resolve(text, name) == code


@pytest.mark.parametrize(
    ("name", "text", "code", "words"),
    [
        ("Drug", "普罗力", values.WRONG_PRODUCT, "osteoporosis"),
        ("Drug", "Prolia", values.WRONG_PRODUCT, "osteoporosis"),
        ("Drug", "密固达", values.WRONG_PRODUCT, "osteoporosis"),
        ("Drug", "地舒单抗注射液 60mg", values.WRONG_PRODUCT, "denosumab 60 mg"),
        ("Drug", "唑来膦酸注射液 5mg:100ml", values.WRONG_PRODUCT, "zoledronic acid 5 mg"),
        ("Drug", "唑来膦酸注射液(密固达)", values.WRONG_PRODUCT, "Aclasta"),
        ("LabTest", "离子钙", values.WRONG_TEST, "ionized calcium"),
        ("Smoking", "有", values.AMBIGUOUS_VALUE, "still smokes"),
        ("Sex", "1", values.AMBIGUOUS_VALUE, "numeric sex code"),
    ],
)
def test_another_product_or_an_ambiguous_value_is_refused_never_mapped(
    name: str, text: str, code: str, words: str
) -> None:
    table = values.vocabulary(name)
    assert table is not None
    refusal = table.resolve(text, name)
    assert isinstance(refusal, values.CellRefusal)
    assert refusal.code == code and words in refusal.en
    assert refusal.zh and refusal.zh != refusal.en


def test_an_unknown_value_is_refused_with_the_accepted_values_in_both_languages() -> None:
    table = values.vocabulary("Sex")
    assert table is not None
    refusal = table.resolve("未知", "性别 / sex")
    assert isinstance(refusal, values.CellRefusal)
    assert refusal.code == "UNKNOWN_CODE"
    assert refusal.accepted == ("男 / male", "女 / female")
    assert refusal.zh == "“未知”不是性别 / sex的可用值，请改为可接受的值之一"


@pytest.mark.parametrize(
    ("text", "unit"),
    [("µmol/L", "umol/L"), ("μmol/L", "umol/L"), ("umol/l", "umol/L"), ("IU/L", "U/L")],
)
def test_units_as_written_by_lis(text: str, unit: str) -> None:
    assert values.resolve_unit(text) == unit


# ---- numbers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("1,200", 1200.0),
        ("12,345,678.5", 12345678.5),
        ("１，２００", 1200.0),
        ("１２００．５", 1200.5),
        ("85↑", 85.0),
        ("2.1 L", 2.1),
        ("-3", -3.0),
    ],
)
def test_numbers_with_separators_full_width_digits_and_flags(text: str, number: float) -> None:
    assert values.parse_number(text) == number


@pytest.mark.parametrize("text", ["3,0", "1,5", "1,20", "1,2345", "<5", ">1000", "≥3"])
def test_ambiguous_and_censored_numbers_are_refused(text: str) -> None:
    refusal = values.parse_number(text)
    assert isinstance(refusal, values.CellRefusal)
    assert refusal.code == values.AMBIGUOUS_VALUE


@given(st.text())
def test_parse_number_never_crashes(text: str) -> None:
    result = values.parse_number(text)
    assert result is None or isinstance(result, float | values.CellRefusal)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_numbers_round_trip_plain_and_with_thousands_separators(number: float) -> None:
    assert values.parse_number(repr(number)) == number
    if abs(number) < 1e15:
        assert values.parse_number(f"{number:,.6f}") == float(f"{number:.6f}")


_FULL_WIDTH = str.maketrans("0123456789.,-", "０１２３４５６７８９．，－")


@given(st.integers(min_value=0, max_value=10**12))
def test_full_width_integers_read_as_their_ascii_twins(number: int) -> None:
    assert values.parse_number(f"{number:,}".translate(_FULL_WIDTH)) == number


# ---- dates -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "iso"),
    [
        ("2026/3/5", "2026-03-05"),
        ("2026.3.5", "2026-03-05"),
        ("2026-3-5", "2026-03-05"),
        ("2026年3月5日", "2026-03-05"),
        ("2026年3月5日 14时30分", "2026-03-05"),
        ("2026-03-05 08:30", "2026-03-05"),
        ("2026/3/5 8:05:00", "2026-03-05"),
        ("2026-03-05T08:30:00", "2026-03-05"),
        ("20260305", "2026-03-05"),
        ("46086", "2026-03-05"),
        (46086, "2026-03-05"),
        (46086.75, "2026-03-05"),
        (dt.datetime(2026, 3, 5, 14, 30), "2026-03-05"),
        ("２０２６年３月５日", "2026-03-05"),
        ("2026/2/30", "2026-02-30"),  # kept for the parser to refuse as INVALID_DATE
    ],
)
def test_dates_as_hospitals_write_them(cell: Any, iso: str) -> None:
    assert values.parse_date(cell) == iso


@pytest.mark.parametrize("cell", ["05/03/2026", "5-3-26", "3/5/2026 08:00"])
def test_day_or_month_first_dates_are_refused(cell: str) -> None:
    refusal = values.parse_date(cell)
    assert isinstance(refusal, values.CellRefusal) and refusal.code == values.AMBIGUOUS_VALUE


@pytest.mark.parametrize("cell", ["1958", "195803", 12, "tomorrow", True])
def test_a_year_alone_or_a_small_number_is_no_date(cell: Any) -> None:
    assert values.parse_date(cell) is None  # the parser refuses it as written


@given(st.one_of(st.text(), st.floats(), st.integers(), st.datetimes(), st.none()))
def test_parse_date_never_crashes(cell: Any) -> None:
    result = values.parse_date(cell)
    assert result is None or isinstance(result, str | values.CellRefusal)


@given(st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(9999, 12, 31)))
def test_dates_round_trip_in_every_written_form(day: dt.date) -> None:
    iso = day.isoformat()
    assert values.parse_date(iso) == iso
    assert values.parse_date(f"{day.year}/{day.month}/{day.day}") == iso
    assert values.parse_date(f"{day.year}年{day.month}月{day.day}日") == iso
    assert values.parse_date(f"{iso} 23:59:59") == iso
    assert values.parse_date(values.excel_serial(day)) == iso
    assert values.parse_date(float(values.excel_serial(day)) + 0.5) == iso


# ---- in a template -----------------------------------------------------------------------------


def test_cells_convert_with_their_columns_vocabulary() -> None:
    labs = {column.name: column for column in SHEETS["labs"].columns}
    bta = {column.name: column for column in SHEETS["bta"].columns}
    assert convert_cell(labs["test"], "血肌酐") == ("creatinine", None)
    assert convert_cell(labs["unit"], "μmol/L") == ("umol/L", None)
    assert convert_cell(labs["value"], "1,200") == (1200.0, None)
    assert convert_cell(bta["dose_mg"], "120mg") == (120.0, None)
    assert convert_cell(bta["interval_days"], "28") == (28, None)
    kept, refusal = convert_cell(labs["value"], "3,0")
    assert kept == "3,0" and refusal is not None and refusal.code == "AMBIGUOUS_VALUE"


def _csv(path: Path, rows: list[list[str]]) -> None:
    path.write_text("\n".join(",".join(row) for row in rows) + "\n", encoding="utf-8")


def test_a_refused_cell_replaces_the_parsers_problem_at_its_path(tmp_path: Path) -> None:
    _csv(
        tmp_path / "patients.csv",
        [
            ["患者编号", "性别", "出生日期", "病理诊断日期", "组织学类型", "临床分期"],
            ["P1", "男", "1958年3月2日", "2026/1/5", "腺癌", "Ⅳ期"],
        ],
    )
    _csv(
        tmp_path / "bta.csv",
        [
            ["患者编号", "给药日期", "药物", "剂量(mg)"],
            ["P1", "2026-03-01", "普罗力", "60"],
            ["P1", "2026-04-01", "安加维", "120 mg"],
        ],
    )
    (source,) = find_inputs([tmp_path])
    (raw,) = list(read_input(source))

    assert raw.data["sex"] == "male" and raw.data["birth_date"] == "1958-03-02"
    assert raw.data["cancer"]["stage"] == "IV"
    (problem,) = raw.cell_problems
    assert (problem.path, problem.code) == ("/events/bta/0/drug", "WRONG_PRODUCT")
    assert raw.problems_zh[problem.path].startswith("普罗力（Prolia）为治疗骨质疏松的地舒单抗60 mg")
    with pytest.raises(RecordRefused) as refused:  # the parser's own UNKNOWN_CODE, same path
        parse_record(raw.data, today=TODAY)
    assert [p.code for p in refused.value.problems] == ["UNKNOWN_CODE"]
    assert [p.code for p in raw.refusal_problems(refused.value.problems)] == ["WRONG_PRODUCT"]
    assert raw.data["events"]["bta"][1] == {
        "date": "2026-04-01",
        "drug": "denosumab",
        "dose_mg": 120,
    }
