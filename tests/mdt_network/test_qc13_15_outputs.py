"""QC-13..QC-15 in `bonepath quality` JSON, CSV, table, printable report and FHIR export
(issue 16 item 5), against values counted by hand on a small seeded set:

- one MDT case of MDT-SUSP (MDT-01 trigger 2026-10-02), referred on 2026-10-21 from the case,
  answered by the centre on 10-22, accepted on 10-24 (the case decided on 10-22), its two tasks
  done on 10-27: QC-13 = 20 days, QC-14 = 5 days (n = 1 each);
- a second referral (MDT-SPINE, no case) on 10-21, revoked on 10-22;
- both from H1 (tier 3-4): QC-15 tier3-4 referred 2, answered 1, accepted 1, revoked 1,
  median days to the answer 1.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bonepath.api import mdt_service, network_service
from bonepath.cli.main import app
from bonepath.store import network
from bonepath.store.accounts import Role
from bonepath.store.hospitals import save_hospital
from bonepath.store.repository import open_store
from mdt.support import REFERRAL_DAY, SUSPECTED, UNSTABLE, principal, record

COUNTY = principal(Role.CLINICIAN, "county", ("H1",), 2)
CENTRE = principal(Role.CLINICIAN, "centre", ("R0",), 3)
PERIOD = ("--from", "2026-10-01", "--to", "2026-10-31")
runner = CliRunner()


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = f"sqlite:///{tmp_path_factory.mktemp('qc1315') / 'store.sqlite3'}"
    with open_store(db) as store:
        store.upsert_records([record(SUSPECTED), record(UNSTABLE)], import_source="test")
        save_hospital(store.engine, "R0", "省肿瘤医院", city_tier="tier1-2")
        save_hospital(store.engine, "H1", "县医院", city_tier="tier3-4")
        network.save_network(store.engine, "N1", "省骨转移MDT网络", "R0")
        network.add_member(store.engine, "N1", "H1")
        case = mdt_service.create_case(store, COUNTY, "test", "MDT-SUSP", today=REFERRAL_DAY)
        refs = [
            network_service.refer(
                store,
                COUNTY,
                ("test", pid),
                question="diagnosis",
                question_text="",
                today=REFERRAL_DAY,
                case_id=case_id,
            )
            for pid, case_id in (("MDT-SUSP", case.id), ("MDT-SPINE", None))
        ]
        network_service.answer(
            store,
            CENTRE,
            refs[0],
            decisions=[{"type": "bm_confirmed"}],
            rationale="远程会诊确诊",
            attendees=["oncology"],
            today=dt.date(2026, 10, 22),
        )
        network_service.revoke(
            store, COUNTY, refs[1], reason="患者拒绝", today=dt.date(2026, 10, 22)
        )
        answered = network.get_referral(store.engine, refs[0].code)
        assert answered is not None
        network_service.accept(store, COUNTY, answered, today=dt.date(2026, 10, 24))
        for task in mdt_service.case_view(store, COUNTY, case.id).tasks:
            mdt_service.complete_task(store, COUNTY, task.id, today=dt.date(2026, 10, 27))
        yield db


def _run(url: str, *args: str) -> str:
    result = runner.invoke(app, ["quality", *PERIOD, *args], env={"BONEPATH_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    return result.stdout


EXPECTED_MDT = {
    "QC-13": {"unit": "days", "n": 1, "median": 20.0, "p25": 20.0, "p75": 20.0},
    "QC-14": {"unit": "days", "n": 1, "median": 5.0, "p25": 5.0, "p75": 5.0},
    "QC-15": [
        {
            "city_tier": "tier3-4",
            "referred": 2,
            "answered": 1,
            "accepted": 1,
            "revoked": 1,
            "days_to_answer": {"n": 1, "median": 1.0, "p25": 1.0, "p75": 1.0},
        }
    ],
}


def test_json_csv_and_table_carry_qc13_to_15(url: str) -> None:
    assert json.loads(_run(url))["mdt"] == EXPECTED_MDT
    rows = list(csv.reader(io.StringIO(_run(url, "--format", "csv", "--lang", "en"))))
    header = rows[0]
    assert header[11:] == [
        "单位 / unit",
        "例数 / n",
        "中位数 / median",
        "下四分位 / p25",
        "上四分位 / p75",
        "已采纳 / accepted",
        "已撤销 / revoked",
    ]
    assert {len(r) for r in rows} == {len(header)}
    by_id = {(r[2], r[5]): dict(zip(header, r, strict=True)) for r in rows[1:] if r[2] >= "QC-13"}
    assert [by_id[("QC-13", "")][k] for k in ("例数 / n", "中位数 / median")] == ["1", "20"]
    assert [by_id[("QC-14", "")][k] for k in ("例数 / n", "中位数 / median")] == ["1", "5"]
    tier = by_id[("QC-15", "tier3-4")]
    assert [tier[k] for k in ("分子 / numerator", "分母 / denominator", "率 / rate")] == [
        "1",
        "2",
        "0.5000",
    ]
    assert [tier[k] for k in ("中位数 / median", "已采纳 / accepted", "已撤销 / revoked")] == [
        "1",
        "1",
        "1",
    ]
    table = _run(url, "--format", "table")
    assert "QC-13 MDT-01触发至决定的天数: 病例数 1 · 中位天数 20.0" in table
    assert "QC-15 三四线城市: 转诊 2 · 中心已答复 1 · 已采纳入病历 1 · 已撤销访问 1" in table


def test_printable_report_and_fhir_carry_qc13_to_15(url: str, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    _run(url, "--format", "html", "--out", str(out))
    html = out.read_text(encoding="utf-8")
    assert "MDT及时性与区域协作网络" in html
    assert (
        '<tr data-measure="QC-13"><td>QC-13 MDT-01触发至决定的天数</td><td class="n">1</td>' in html
    )
    assert (
        '<tr data-tier="tier3-4"><td>三四线城市</td><td class="n">2</td><td class="n">1</td>'
        in html
    )
    bundle = json.loads(_run(url, "--format", "fhir"))
    reports = {e["resource"]["measure"].rsplit("/", 1)[1]: e["resource"] for e in bundle["entry"]}
    qc13 = reports["QC-13"]["group"][0]
    assert qc13["measureScore"] == {
        "value": 20.0,
        "unit": "days",
        "system": "http://unitsofmeasure.org",
        "code": "d",
    }
    assert [p["count"] for p in qc13["population"]] == [1, 1]
    assert reports["QC-14"]["group"][0]["measureScore"]["value"] == 5.0
    [stratum] = reports["QC-15"]["group"][0]["stratifier"][0]["stratum"]
    assert stratum["value"]["text"] == "tier3-4"
    assert {p["code"]["coding"][0]["code"]: p["count"] for p in stratum["population"]} == {
        "initial-population": 2,
        "answered": 1,
        "accepted": 1,
        "revoked": 1,
    }
    assert stratum["measureScore"]["value"] == 1.0
