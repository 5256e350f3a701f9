"""Issue 14 item 2: a county hospital's own HIS/LIS export (tests/interop/data/county_his:
Chinese headers, GB18030, a title line above the header, a long lab table, medication orders
in Excel by brand name, mixed date styles, a few bad rows) through `bonepath mapping suggest`
and `bonepath import --mapping`, the stored records checked field by field and each refusal's
text."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bonepath.cli.main import app
from bonepath.interop.mapping import reference_limits
from bonepath.store.repository import open_store

DATA = Path(__file__).resolve().parents[1] / "interop" / "data"
EXPORT = DATA / "county_his"
MAPPING = DATA / "county_his.mapping.toml"
runner = CliRunner()


def _run(db_url: str, *args: str) -> Any:
    return runner.invoke(app, list(args), env={"BONEPATH_DATABASE_URL": db_url})


@pytest.fixture
def export(tmp_path: Path) -> Path:
    return Path(shutil.copytree(EXPORT, tmp_path / "county_his"))


def test_suggest_writes_the_mapping_from_the_headers_and_previews_storing_nothing(
    tmp_path: Path, export: Path
) -> None:
    out = tmp_path / "map.toml"
    url = f"sqlite:///{tmp_path / 'never.sqlite3'}"

    result = _run(
        url, "mapping", "suggest", str(export), "--out", str(out), "--source", "his-county"
    )

    assert result.exit_code == 2, result.output  # some rows would be refused
    sheets = {entry["match"]: entry for entry in tomllib.loads(out.read_text())["sheets"]}
    patients = sheets["患者信息.csv"]
    assert (patients["kind"], patients["header_row"]) == ("patients", 2)  # title line above
    assert patients["ignore"] == ["姓名", "床号"]
    assert patients["columns"]["住院号"] == "id" and patients["columns"]["病理类型"] == "histology"
    assert sheets["检验结果.csv"]["kind"] == "labs"
    assert sheets["检验结果.csv"]["columns"]["参考范围"] == "reference_range"
    assert sheets["医嘱"]["kind"] == "bta" and sheets["CT报告.csv"]["kind"] == "imaging"
    assert "preview: 2 record(s) would be stored, 5 refused (nothing stored)" in result.stdout
    assert '"id":"ZY0001"' in result.stdout
    assert not (tmp_path / "never.sqlite3").exists()
    assert (
        out.read_text().split("[[sheets]]", 1)[1] == MAPPING.read_text().split("[[sheets]]", 1)[1]
    )  # the committed mapping is this one with its constants filled in


def test_import_by_mapping_stores_the_good_patients_field_by_field(
    db_url: str, export: Path
) -> None:
    result = _run(db_url, "import", "--mapping", str(MAPPING), str(export), "--format", "json")

    assert result.exit_code == 2, result.output
    report = json.loads(result.stdout)
    assert (report["imported"], report["refused"]) == (2, 5)
    assert report["rejects_files"] == [str(export / "county_his.rejects.ndjson")]
    with open_store(db_url) as store:
        one = store.get_record("his-county", "ZY0001")
        five = store.get_record("his-county", "ZY0005")
        assert store.get_record("his-county", "ZY0006") is None
    assert one is not None and five is not None
    assert (one.sex.value, one.birth_date) == ("male", dt.date(1958, 3, 2))
    assert one.hospital is not None
    assert (one.hospital.id, one.hospital.city_tier, one.hospital.type) == (
        "XX-COUNTY",
        "tier3-4",
        "general",
    )
    assert (one.department, one.physician.title if one.physician else None) == (
        "oncology",
        "chief",
    )
    cancer = one.cancer
    assert (cancer.diagnosis_date, cancer.histology, cancer.stage) == (
        dt.date(2026, 1, 5),
        "adenocarcinoma",
        "IV",
    )
    assert {gene: status.value for gene, status in cancer.drivers.items()} == {
        "EGFR": "positive",
        "ALK": "negative",
    }
    assert one.bone_metastasis is not None
    assert (one.bone_metastasis.status, one.bone_metastasis.confirmed_date) == (
        "confirmed",
        dt.date(2026, 1, 20),
    )
    labs = [(lab.date, lab.test, lab.value, lab.unit, lab.lln, lab.uln) for lab in one.events.labs]
    assert labs == [
        (dt.date(2026, 3, 5), "creatinine", 88.0, "umol/L", 57.0, 111.0),  # 肌酐(CREA), μmol/L
        (dt.date(2026, 3, 5), "calcium", 2.31, "mmol/L", 2.11, 2.52),  # 2026年3月5日 08时31分
        (dt.date(2026, 3, 5), "albumin", 41.2, "g/L", 40.0, 55.0),
        (dt.date(2026, 3, 5), "alp", 1200.0, "U/L", 45.0, 125.0),  # "1,200↑" IU/L: not 1.2
    ]
    doses = [(d.date, d.drug, d.dose_mg, d.route) for d in one.events.bta]
    assert doses == [
        (dt.date(2026, 3, 6), "denosumab", 120.0, "sc"),  # 地舒单抗注射液(安加维), Excel date
        (dt.date(2026, 4, 3), "denosumab", 120.0, "sc"),  # an Excel serial number (46115)
    ]
    (ct,) = one.events.imaging
    assert (ct.date, ct.modality, ct.report_text) == (
        dt.date(2026, 1, 3),
        "ct",
        "右肺上叶占位，纵隔淋巴结肿大；骨窗：胸8椎体骨质破坏。",
    )
    assert [(lab.test, lab.value, lab.unit) for lab in five.events.labs] == [
        ("creatinine", 61.0, "umol/L"),  # Cr, umol/l
        ("vitamin_d", 18.5, "ng/mL"),  # full-width digits
    ]
    assert [(d.drug, d.dose_mg, d.route) for d in five.events.bta] == [
        ("zoledronic_acid", 4.0, "iv")  # 唑来膦酸注射液(择泰), 静滴
    ]


def test_each_refusal_of_the_export_says_what_and_where_in_chinese(
    tmp_path: Path, export: Path
) -> None:
    url = f"sqlite:///{tmp_path / 's.sqlite3'}"

    result = _run(url, "import", "--mapping", str(MAPPING), str(export))

    lines = result.stdout.splitlines()

    def error_of(patient: str) -> str:
        start = next(i for i, line in enumerate(lines) if f"(his-county/{patient})" in line)
        return lines[start + 1]

    assert error_of("ZY0002") == (
        "  /events/labs/0/value  AMBIGUOUS_VALUE  “3,0”中的逗号可能是小数点也可能是千位分隔符，"
        "请写成小数点形式（如3.0）或完整的千位（如1,200）"
        f"  ({export / '检验结果.csv'}:6, 结果)"
    )
    assert error_of("ZY0003") == (
        "  /sex  UNKNOWN_CODE  “未知”不是性别 / sex的可用值，请改为可接受的值之一"
        f"（可接受：男 / male、女 / female）  ({export / '患者信息.csv'}:5, 性别)"
    )
    assert error_of("ZY0004") == (
        "  /birth_date  AMBIGUOUS_VALUE  “05/03/1960”无法区分日/月的先后，请年份在前填写"
        f"（如2026-03-05或2026年3月5日）  ({export / '患者信息.csv'}:6, 出生日期)"
    )
    assert error_of("ZY0006") == (
        "  /events/bta/0/drug  WRONG_PRODUCT  普罗力（Prolia）为治疗骨质疏松的地舒单抗60 mg，"
        "不是骨转移用药方案（安加维120 mg每4周）；请核对医嘱，不要作为骨改良药物给药导入"
        f"  ({export / '用药医嘱.xlsx'}[医嘱]:5, 药品名称)"
    )
    assert error_of("ZY0009") == (
        "  /id  UNKNOWN_PATIENT  该行的患者在患者表中没有对应行；"
        "请在患者表中补充该患者，或更正这些行的患者编号/来源系统"
    )


def test_a_column_neither_mapped_nor_ignored_refuses_the_set(tmp_path: Path, export: Path) -> None:
    mapping = tmp_path / "m.toml"
    mapping.write_text(MAPPING.read_text().replace('ignore = ["标本"]', "ignore = []"))

    result = _run(
        f"sqlite:///{tmp_path / 's.sqlite3'}", "import", "--mapping", str(mapping), str(export)
    )

    assert result.exit_code == 2
    assert (
        "  /  UNKNOWN_COLUMN  列“标本”既未在列映射中指定去向，也未列入ignore：请在[sheets.columns]中映射，或列入ignore（其数据将不导入）"
        in result.stdout
    )


@pytest.mark.parametrize(
    ("cell", "limits"),
    [
        ("57-111", ("57", "111")),
        ("2.11～2.52", ("2.11", "2.52")),
        ("<5", (None, "5")),
        (">30", ("30", None)),
        ("男:57-111 女:41-81", ("男:57-111 女:41-81", None)),
    ],
)
def test_reference_ranges(cell: str, limits: tuple[Any, Any]) -> None:
    assert reference_limits(cell) == limits
