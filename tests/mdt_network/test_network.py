"""The regional MDT network (issue 16 item 4): referral, de-identification, isolation.

A county hospital (``C1``, tier 3-4) refers a patient whose record carries identifiers in
every free field to the regional centre (``R0``). The centre's user sees only the referral's
de-identified package; every other page and API of the county hospital is 404 to them
(enumerated from the app's routes); identifiers planted in the case leak nowhere the centre
can read (package, page, opinion HTML and PDF, FHIR export).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import unicodedata
from collections.abc import Iterator
from typing import Any, Final

import pytest
from fastapi.testclient import TestClient

from bonepath.api.app import create_app
from bonepath.api.mdt_fhir import MDT_TYPES, mdt_resources
from bonepath.interop.fhir.from_record import patient_fhir_id, patient_resources
from bonepath.mdt.deidentify import Scrubber, build_package, package_text
from bonepath.mdt.model import QuestionType
from bonepath.record.parse import parse_record
from bonepath.settings import Settings
from bonepath.store import accounts, network
from bonepath.store.hospitals import save_hospital
from bonepath.store.repository import Store, open_store

AS_OF: Final = dt.date(2026, 11, 2)
PASSWORD: Final = "correct horse battery"

NAME: Final = "张伟明"
PHONE: Final = "+86 138-1234-5678"
PHONE_DIGITS: Final = "13812345678"
ID_NUMBER: Final = "110101195003071234"
MRN: Final = "ZY20261015"
ADDRESS: Final = "北京市朝阳区建国路88号"
PATIENT_ID: Final = "MRN-77881234"
PHYSICIAN: Final = "DR-WANG-0099"
BIRTH: Final = "1950-03-07"
PLANTED_TEXT: Final = (
    f"患者{NAME}，身份证{ID_NUMBER}，住院号 {MRN}，电话 {PHONE}，住址：{ADDRESS}3栋201室，"
    f"出生于1950年3月7日，2026年10月15日 CT 示 L2 溶骨性破坏，联系人：李秀英 {PHONE_DIGITS}"
)
EVENT_DATES: Final = ("2026-01-10", "2026-10-15", "2026-10-20", "2026-09-01", "2026-10-28")


def planted_record() -> dict[str, Any]:
    """A county patient with identifiers in every field that can hold one."""
    return {
        "format": "bonepath-record/1",
        "id": PATIENT_ID,
        "source": "his",
        "hospital": {"id": "C1", "name": "甲县人民医院", "city_tier": "tier3-4"},
        "department": "oncology",
        "physician": {"id": PHYSICIAN, "title": "attending"},
        "identity": {"name": NAME, "phone": PHONE},
        "sex": "male",
        "birth_date": BIRTH,
        "cancer": {
            "diagnosis_date": "2026-01-10",
            "histology": "adenocarcinoma",
            "stage": "IV",
            "tnm": "T2aN1M1c",
            "setting": "advanced",
        },
        "bone_metastasis": {
            "status": "suspected",
            "lesions": [{"site": "lumbar_spine", "kind": "lytic", "level": "L2"}],
        },
        "events": {
            "imaging": [
                {
                    "date": "2026-10-15",
                    "modality": "ct",
                    "region": "chest",
                    "result": "suspicious",
                    "sites": ["lumbar_spine"],
                    "report_text": PLANTED_TEXT,
                },
                {
                    "date": "2026-10-20",
                    "modality": "mri",
                    "region": "spine",
                    "result": "suspicious",
                    "sites": ["lumbar_spine"],
                    "report_text": f"{NAME} 腰椎MRI，复查请致电 {PHONE_DIGITS}",
                },
            ],
            "labs": [{"date": "2026-10-28", "test": "creatinine", "value": 0.9, "unit": "mg/dL"}],
            "vitals": [{"date": "2026-09-01", "weight_kg": 62, "height_cm": 168}],
            "mdt": [{"date": "2026-09-01", "decision": PLANTED_TEXT, "attendees": ["oncology"]}],
        },
    }


def other_record(pid: str, hospital: str) -> dict[str, Any]:
    record = planted_record()
    record.update(id=pid, identity={"name": "王小二", "phone": "13900001111"})
    record["hospital"] = {"id": hospital, "name": f"Hospital {hospital}", "city_tier": "tier3-4"}
    return record


def leaks(text: str) -> list[str]:
    """Every planted identifier (in its written variants) found in ``text``."""
    tokens = [
        NAME,
        "李秀英",
        PHONE,
        PHONE_DIGITS,
        "138-1234-5678",
        ID_NUMBER,
        MRN,
        ADDRESS,
        "建国路",
        PATIENT_ID,
        "77881234",
        PHYSICIAN,
        BIRTH,
        "1950年3月7日",
        "2026年10月15日",
        *EVENT_DATES,
    ]
    return [t for t in tokens if t in text]


@pytest.fixture
def store(tmp_path: Any) -> Iterator[Store]:
    with open_store(f"sqlite:///{tmp_path / 'net.sqlite3'}") as opened:
        records = [planted_record(), other_record("C1-OTHER", "C1"), other_record("C2-P", "C2")]
        opened.upsert_records(
            [parse_record(r, today=AS_OF) for r in records], import_source="tests"
        )
        save_hospital(opened.engine, "R0", "省肿瘤医院", city_tier="tier1-2", type="cancer")
        save_hospital(opened.engine, "C1", "甲县人民医院", city_tier="tier3-4")
        save_hospital(opened.engine, "C2", "乙县人民医院", city_tier="tier3-4")
        network.save_network(opened.engine, "N1", "省骨转移MDT网络", "R0")
        network.add_member(opened.engine, "N1", "C1")
        network.add_member(opened.engine, "N1", "C2")
        for name, role, grants in (
            ("county", "clinician", ["C1"]),
            ("centre", "clinician", ["R0"]),
            ("admin", "admin", ["*"]),
        ):
            accounts.create_user(opened.engine, name, PASSWORD, role, grants)
        yield opened


@pytest.fixture
def app_client(store: Store, tmp_path: Any) -> Iterator[TestClient]:
    app = create_app(
        Settings(database_url=f"sqlite:///{tmp_path / 'net.sqlite3'}"),
        today=lambda: AS_OF,
        store=store,
    )
    with TestClient(app, base_url="http://testserver") as client:
        yield client


def bearer(store: Store, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {accounts.create_api_token(store.engine, user, 't')}"}


def _form_post(client: TestClient, headers: dict[str, str], path: str, data: dict[str, Any]) -> Any:
    return client.post(path, data=data, headers=headers, follow_redirects=False)


def refer(client: TestClient, county: dict[str, str]) -> str:
    answer = _form_post(
        client,
        county,
        f"/mdt/network/refer/his/{PATIENT_ID}",
        {"question": "diagnosis", "question_text": f"{NAME} 电话 {PHONE_DIGITS}：是否骨转移？"},
    )
    assert answer.status_code == 303, answer.text
    code = re.search(r"/referrals/(RC-[A-Z0-9]{8})", answer.headers["location"])
    assert code is not None
    return code.group(1)


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    text = "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)
    # Chromium's CJK fonts map some glyphs to radical code points (U+2F00..): NFKC folds them
    return unicodedata.normalize("NFKC", text)


def test_scrubber_removes_every_planted_identifier_from_free_text() -> None:
    scrubbed = Scrubber([NAME, PHONE, PATIENT_ID]).scrub(PLANTED_TEXT)
    assert leaks(scrubbed) == []
    # clinical content survives: level, finding, TNM-like codes and rule ids are kept
    assert "L2 溶骨性破坏" in scrubbed
    assert Scrubber().scrub("MDT-01 触发；T2aN1M1c；SINS 13 分；肌酐 88 µmol/L") == (
        "MDT-01 触发；T2aN1M1c；SINS 13 分；肌酐 88 µmol/L"
    )


def test_package_has_age_day_offsets_and_no_identifier() -> None:
    package = build_package(
        planted_record(),
        code="RC-TESTTEST",
        referral_day=AS_OF,
        question="diagnosis",
        question_text=f"{NAME}：{ADDRESS}",
    )
    assert leaks(package_text(package)) == []
    assert package["age"] == 76  # 1950-03-07 -> 2026-11-02
    assert package["sex"] == "male"
    imaging = package["record"]["events"]["imaging"]
    assert [i["day"] for i in imaging] == [-18, -13]  # 2026-10-15 / 2026-10-20 before 11-02
    assert package["record"]["cancer"]["diagnosis_day"] == -296
    assert package["record"]["cancer"]["tnm"] == "T2aN1M1c"
    assert package["record"]["hospital"] == {"city_tier": "tier3-4"}
    assert "identity" not in package["record"] and "id" not in package["record"]


def test_county_refers_centre_answers_county_accepts_with_zero_leaks(
    app_client: TestClient, store: Store
) -> None:
    county, centre = bearer(store, "county"), bearer(store, "centre")
    code = refer(app_client, county)
    # the centre lists it under its case number, with the referring hospital, no patient id
    listing = app_client.get("/mdt/network", headers=centre)
    assert code in listing.text and "甲县人民医院" in listing.text
    assert leaks(listing.text) == []
    page = app_client.get(f"/mdt/network/referrals/{code}", headers=centre)
    assert page.status_code == 200
    assert "76" in page.text and "L2 溶骨性破坏" in page.text
    # the findings stay traceable: rule ids and their cited sources are not scrubbed (the page
    # names the sources readably; the JSON for other systems keeps the catalogue's text)
    assert "MDT-02" in page.text and "《白皮书》" in page.text
    package_json = app_client.get(f"/mdt/network/referrals/{code}/package.json", headers=centre)
    assert package_json.headers["content-type"].startswith("application/json")
    assert "000_e41800b93e446bea.txt" in package_json.text and leaks(package_json.text) == []
    # the referrer's own thread message with identifiers is scrubbed for the centre
    assert (
        _form_post(
            app_client,
            county,
            f"/mdt/network/referrals/{code}/message",
            {"specialty": "oncology", "body": f"{NAME} 家属电话 {PHONE_DIGITS}，请会诊"},
        ).status_code
        == 303
    )
    for specialty, body in (
        ("radiology", "MRI: L2 溶骨性破坏伴软组织肿块，符合转移。"),
        ("orthopaedics_spine", "SINS 9 分，潜在不稳，暂不手术。"),
    ):
        done = _form_post(
            app_client,
            centre,
            f"/mdt/network/referrals/{code}/message",
            {"specialty": specialty, "body": body},
        )
        assert done.status_code == 303
    answered = _form_post(
        app_client,
        centre,
        f"/mdt/network/referrals/{code}/answer",
        {
            "decision": ["bm_confirmed", "bta_start"],
            "drug": "zoledronic_acid",
            "attendee": ["oncology", "nuclear_medicine"],
            "rationale": "影像符合骨转移；建议唑来膦酸，口腔检查后开始。",
        },
    )
    assert answered.status_code == 303, answered.text
    seen = app_client.get(f"/mdt/network/referrals/{code}", headers=centre).text
    assert leaks(seen) == []
    assert "请会诊" in seen and "[已隐去]" in seen
    referral = network.get_referral(store.engine, code)
    assert referral is not None and referral.state == "answered"
    assert leaks(json.dumps(referral.package, ensure_ascii=False)) == []
    opinion = app_client.get(f"/mdt/network/referrals/{code}/opinion.html", headers=centre)
    assert "多学科会诊意见" in opinion.text and "放射科" not in leaks(opinion.text)
    assert leaks(opinion.text) == []
    pdf = app_client.get(f"/mdt/network/referrals/{code}/opinion.pdf", headers=centre)
    assert pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(pdf.content)
    assert code in text and "会诊" in text and "76" in text
    assert leaks(text) == []
    bundle = app_client.get(f"/mdt/network/referrals/{code}/fhir", headers=centre).json()
    assert {e["resource"]["resourceType"] for e in bundle["entry"]} >= {
        "Patient",
        "Task",
        "Communication",
        "CarePlan",
    }
    assert leaks(json.dumps(bundle, ensure_ascii=False)) == []
    patient = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    assert "name" not in patient and "birthDate" not in patient and "telecom" not in patient
    # the county accepts: the decision enters its record through parse + upsert
    accepted = _form_post(app_client, county, f"/mdt/network/referrals/{code}/accept", {})
    assert accepted.status_code == 303, accepted.text
    record = store.get_record("his", PATIENT_ID)
    assert record is not None
    mdt = record.to_json_dict()["events"]["mdt"][-1]
    assert mdt["remote"] is True and mdt["centre"] == "R0"
    assert mdt["decisions"] == ["bm_confirmed", "bta_start"]
    assert record.bone_metastasis is not None
    assert record.bone_metastasis.status.value == "confirmed"
    # the county's own copy of the opinion names its patient
    own = app_client.get(f"/mdt/network/referrals/{code}/opinion.html", headers=county)
    assert NAME in own.text
    # the extraction finds a name when one is there: the county's PDF names its patient
    own_pdf = app_client.get(f"/mdt/network/referrals/{code}/opinion.pdf", headers=county)
    assert NAME in pdf_text(own_pdf.content)
    # the FHIR API serves the referral, its thread and the decision to the county
    fhir_pid = patient_fhir_id("his", PATIENT_ID)
    plans = app_client.get(
        "/fhir/CarePlan", params={"patient": f"Patient/{fhir_pid}"}, headers=county
    ).json()
    [plan] = [e["resource"] for e in plans["entry"]]
    assert [a["detail"]["code"]["coding"][0]["code"] for a in plan["activity"]] == [
        "bm_confirmed",
        "bta_start",
    ]
    assert plan["status"] == "completed" and plan["subject"]["reference"] == f"Patient/{fhir_pid}"
    thread = app_client.get(
        "/fhir/Communication", params={"patient": f"Patient/{fhir_pid}"}, headers=county
    ).json()
    assert len(thread["entry"]) == 3
    task_id = plan["supportingInfo"][0]["reference"].split("/")[1]
    task = app_client.get(f"/fhir/Task/{task_id}", headers=county).json()
    assert task["status"] == "completed" and task["owner"]["identifier"]["value"] == "R0"
    assert app_client.get(f"/fhir/Task/{task_id}", headers=centre).status_code == 404
    # revoked: the referral is gone for the centre (404), and every step was audited
    revoked = _form_post(
        app_client, county, f"/mdt/network/referrals/{code}/revoke", {"reason": "转诊结束"}
    )
    assert revoked.status_code == 303
    assert app_client.get(f"/mdt/network/referrals/{code}", headers=centre).status_code == 404
    with store.engine.connect() as conn:
        actions = [
            (a, o)
            for a, o in conn.exec_driver_sql(
                "select action, outcome from audit_log where username='centre'"
            )
        ]
    assert ("mdt.network.answer", "ok") in actions
    assert ("mdt.network.read", "denied") in actions
    # QC-15: the referral by the referring hospital's city tier (docs/quality.md)
    from bonepath.population.mdt_quality import mdt_indicators

    year = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    [row] = mdt_indicators(store.engine, *year).referrals_by_tier
    assert (row.city_tier, row.referred, row.answered, row.accepted, row.revoked) == (
        "tier3-4",
        1,
        1,
        1,
        1,
    )
    assert row.days_to_answer.median == 0.0
    admin = bearer(store, "admin")
    shown = app_client.get(
        "/quality", params={"from": "2026-01-01", "to": "2026-12-31"}, headers=admin
    )
    assert "按城市级别的区域中心转诊" in shown.text and 'data-tier="tier3-4"' in shown.text
    period = {"from": "2026-01-01", "to": "2026-12-31"}
    qc = app_client.get("/api/quality/mdt", params=period, headers=admin).json()
    assert qc["QC-15"][0]["referred"] == 1


def test_consent_discloses_identity_to_the_centre(app_client: TestClient, store: Store) -> None:
    county, centre = bearer(store, "county"), bearer(store, "centre")
    code = refer(app_client, county)
    assert NAME not in app_client.get(f"/mdt/network/referrals/{code}", headers=centre).text
    done = _form_post(
        app_client,
        county,
        f"/mdt/network/referrals/{code}/consent",
        {"consent": "yes", "consent_note": "患者签署知情同意书"},
    )
    assert done.status_code == 303
    assert NAME in app_client.get(f"/mdt/network/referrals/{code}", headers=centre).text
    with store.engine.connect() as conn:
        assert (
            conn.exec_driver_sql(
                "select count(*) from audit_log where action='mdt.network.identity'"
            ).scalar()
            == 1
        )


def _routes(app: Any) -> Iterator[tuple[str, str]]:
    for method, path, _route in _route_objects(app):
        yield method, path


def _route_objects(app: Any) -> Iterator[tuple[str, str, Any]]:
    """Every (method, path, route) of the app, through included routers."""

    def walk(routes: Any, prefix: str = "") -> Iterator[tuple[str, str, Any]]:
        for route in routes:
            if hasattr(route, "original_router"):
                context = getattr(route, "include_context", None)
                yield from walk(
                    route.original_router.routes, prefix + getattr(context, "prefix", "")
                )
            elif hasattr(route, "path"):
                for method in sorted(getattr(route, "methods", None) or ()):
                    if method != "HEAD":
                        yield method, prefix + route.path, route

    yield from walk(app.router.routes)


def _sample(annotation: Any) -> Any:
    """A value of ``annotation`` that validates (so a route reaches its tenancy check)."""
    import types
    import typing

    from pydantic import BaseModel

    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _sample(args[0])
    if origin is typing.Literal:
        return args[0]
    if origin in (typing.Union, types.UnionType):
        return _sample(next(a for a in args if a is not type(None)))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {
            name: _sample(field.annotation)
            for name, field in annotation.model_fields.items()
            if field.is_required()
        }
    if annotation is bool:
        return True
    if annotation is int:
        return 1
    if annotation is float:
        return 1.0
    if annotation is dict or origin is dict:
        return {}
    if origin in (list, tuple, set):
        return []
    return "x"


def _request_parts(route: Any, url: str) -> tuple[str, Any]:
    """``url`` with every remaining path parameter filled, and a JSON body that validates."""
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return url, None
    for param in dependant.path_params:
        value = str(_sample(param.field_info.annotation))
        url = re.sub(r"\{" + param.name + r"(:[a-z]+)?\}", value, url)
    bodies = dependant.body_params
    if not bodies:
        return url, None
    if len(bodies) == 1 and not getattr(bodies[0].field_info, "embed", False):
        return url, _sample(bodies[0].field_info.annotation)
    return url, {b.name: _sample(b.field_info.annotation) for b in bodies}


def test_the_centre_gets_404_on_every_patient_route_of_the_county(
    app_client: TestClient, store: Store
) -> None:
    county, centre = bearer(store, "county"), bearer(store, "centre")
    code = refer(app_client, county)  # the referred patient is 404 outside the referral, too
    _form_post(
        app_client,
        county,
        f"/mdt/network/referrals/{code}/message",
        {"specialty": "oncology", "body": "请会诊"},
    )
    # an MDT case of the county, referred to the centre: the case itself stays the county's
    from bonepath.api import mdt_service

    who = accounts.authenticate(store.engine, "county", PASSWORD, "t")
    assert who is not None
    case = mdt_service.create_case(store, who, "his", PATIENT_ID, today=AS_OF, referred_to="R0")
    for method, path, route in _route_objects(app_client.app):
        if "{case_id}" not in path:
            continue
        url, body = _request_parts(route, path.replace("{case_id}", str(case.id)))
        answer = app_client.request(method, url, headers=centre, json=body)
        assert answer.status_code == 404, (method, url, answer.status_code)
    tried = 0
    for pid in (PATIENT_ID, "C1-OTHER"):
        record = store.get_record("his", pid)
        assert record is not None
        fhir_pid = patient_fhir_id("his", pid)
        resource_ids: dict[str, str] = {}
        mdt = [r for k in MDT_TYPES for r in mdt_resources(store, record, k)]
        for resource in [*patient_resources(record), *mdt]:
            resource_ids.setdefault(resource["resourceType"], resource["id"])
        for method, path, route in _route_objects(app_client.app):
            if not ("{source}" in path or "{pid}" in path or "{rid}" in path):
                continue
            kind = path.split("/")[2] if path.startswith("/fhir/") else ""
            if "{rid}" in path and kind not in resource_ids:
                continue
            url = (
                path.replace("{source}", "his")
                .replace("{patient_id:path}", pid)
                .replace("{pid}", fhir_pid if path.startswith("/fhir/") else pid)
                .replace("{rid}", resource_ids.get(kind, ""))
                .replace("{family}", "labs")
                .replace("{form_name:form}", "labs")
                .replace("{task_id}", "1")
            )
            url, body = _request_parts(route, url)
            answer = app_client.request(method, url, headers=centre, json=body)
            assert answer.status_code == 404, (method, url, answer.status_code)
            tried += 1
        for method, path in _routes(app_client.app):
            if method != "GET" or not path.startswith("/fhir/") or "{" in path:
                continue
            if path.split("/")[2] in {"PlanDefinition", "metadata"}:  # not patient data
                continue
            answer = app_client.get(path, params={"patient": f"Patient/{fhir_pid}"}, headers=centre)
            if answer.status_code not in {400, 404}:  # a search answers an empty searchset
                assert answer.json().get("entry", []) == [], path
    assert tried >= 30
    # lists and searches of the app name no county patient
    for method, path in _routes(app_client.app):
        if method == "GET" and "{" not in path and not path.startswith(("/static", "/fhir")):
            body = app_client.get(path, headers=centre).text
            assert PATIENT_ID not in body and "C1-OTHER" not in body, path
    # a referral of another centre's network, or a made-up code, is 404 as well
    for fake in ("RC-AAAAAAAA", "RC-PREVIEW", code.lower()):
        assert app_client.get(f"/mdt/network/referrals/{fake}", headers=centre).status_code == 404
    # the centre cannot act for the referrer (accept, revoke, consent): 404
    for action in ("accept", "revoke", "consent"):
        answer = _form_post(app_client, centre, f"/mdt/network/referrals/{code}/{action}", {})
        assert answer.status_code == 404, action


def test_a_hospital_outside_the_network_cannot_refer(app_client: TestClient, store: Store) -> None:
    network.remove_member(store.engine, "N1", "C1")
    county = bearer(store, "county")
    answer = _form_post(
        app_client, county, f"/mdt/network/refer/his/{PATIENT_ID}", {"question": "diagnosis"}
    )
    assert answer.status_code == 422
    assert "网络" in answer.text or "network" in answer.text
    assert network.list_referrals(store.engine) == []


def test_the_demo_has_a_network_with_a_centre_two_counties_and_an_account_each(
    tmp_path: Any,
) -> None:
    from bonepath.cli.demo_network import demo_network

    with open_store(f"sqlite:///{tmp_path / 'demo.sqlite3'}") as opened:
        logins = demo_network(opened)
        again = demo_network(opened)  # a second demo run resets the passwords only
        (net,) = network.list_networks(opened.engine)
        assert (net.centre_id, net.members) == ("H15", ("H23", "H24"))
        assert [u for u, _r, _p in logins] == [u for u, _r, _p in again]
        grants = {}
        for username, _role, password in again:
            principal = accounts.authenticate(opened.engine, username, password, "t")
            assert principal is not None
            grants[username] = set(principal.hospitals)
        assert grants == {
            "demo-centre": {"H15"},
            "demo-county-h23": {"H23"},
            "demo-county-h24": {"H24"},
        }


def test_a_referral_made_from_an_mdt_case_carries_its_id(
    app_client: TestClient, store: Store
) -> None:
    from bonepath.api import mdt_service

    who = accounts.authenticate(store.engine, "county", PASSWORD, "t")
    assert who is not None
    case = mdt_service.create_case(store, who, "his", PATIENT_ID, today=AS_OF, referred_to="R0")
    other = mdt_service.create_case(
        store,
        who,
        "his",
        "C1-OTHER",
        today=AS_OF,
        from_finding=False,
        question=QuestionType.PAIN,
    )
    county = bearer(store, "county")
    page = app_client.get(f"/mdt/network/refer/his/{PATIENT_ID}?case={case.id}", headers=county)
    assert f'name="case_id" value="{case.id}"' in page.text
    wrong = _form_post(
        app_client,
        county,
        f"/mdt/network/refer/his/{PATIENT_ID}",
        {"question": "diagnosis", "case_id": str(other.id)},
    )
    assert wrong.status_code == 422 and network.list_referrals(store.engine) == []
    done = _form_post(
        app_client,
        county,
        f"/mdt/network/refer/his/{PATIENT_ID}",
        {"question": "diagnosis", "case_id": str(case.id)},
    )
    assert done.status_code == 303
    [referral] = network.list_referrals(store.engine)
    assert referral.case_id == case.id


def test_the_centre_reads_finding_sources_by_name_not_by_seed_file(
    app_client: TestClient, store: Store
) -> None:
    """Browser walk, 2026-12: the package's findings cited ``000_e41800b93e446bea.txt``."""
    county, centre = bearer(store, "county"), bearer(store, "centre")
    code = refer(app_client, county)
    page = app_client.get(f"/mdt/network/referrals/{code}", headers=centre).text
    findings = re.search(
        r'<section class="findings" id="case-findings">(.*?)</section>', page, re.S
    )
    assert findings is not None
    assert ".txt" not in findings.group(1)
    assert "《白皮书》" in findings.group(1) or "《指南解读》" in findings.group(1)
