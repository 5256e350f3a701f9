"""The quality dashboard: for quality managers and administrators only; a manager granted
some hospitals sees only their patients' indicators (another hospital is a 404); JSON of
interfaces.md, FHIR Bundle and the printable report come with the same scope."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.support import AS_OF, PASSWORD, login, seed
from bonepath.api.app import create_app
from bonepath.settings import Settings
from bonepath.store import accounts
from bonepath.store.repository import open_store

PERIOD = {"from": "2026-01-01", "to": AS_OF.isoformat()}


@pytest.fixture
def quality_client(tmp_path: object) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path}/q.sqlite3"
    with open_store(url) as store:
        seed(store, synthetic=40)
        accounts.create_user(store.engine, "qm_ha", PASSWORD, "quality_manager", ["HA"])
        app = create_app(Settings(database_url=url), today=lambda: AS_OF, store=store)
        with TestClient(app) as client:
            yield client


def _hospitals(report: dict[str, object]) -> set[str]:
    measures = report["measures"]
    assert isinstance(measures, list)
    return {s["value"] for m in measures for s in m["strata"] if s["by"] == "hospital"}


def test_the_dashboard_shows_every_indicator_with_charts(quality_client: TestClient) -> None:
    login(quality_client, "qm")
    page = quality_client.get("/quality", params=PERIOD)
    assert page.status_code == 200
    for measure in ("QC-01", "QC-03b", "QC-10"):
        assert f'data-measure="{measure}"' in page.text
    assert "CT骨窗查看率" in page.text and "<svg" in page.text
    assert "style=" not in page.text.split("<main>")[1]  # nothing the app's CSP would block


def test_english_dashboard(quality_client: TestClient) -> None:
    login(quality_client, "admin")
    quality_client.get("/lang/en")
    page = quality_client.get("/quality", params=PERIOD)
    assert page.status_code == 200
    assert "CT bone-window review" in page.text and "Whitepaper baseline" in page.text


def test_other_roles_are_refused(quality_client: TestClient) -> None:
    login(quality_client, "doc_a")
    assert quality_client.get("/api/quality", params=PERIOD).status_code == 403
    assert quality_client.get("/quality", params=PERIOD).status_code == 403


def test_a_hospital_scoped_manager_counts_only_their_hospital(quality_client: TestClient) -> None:
    login(quality_client, "qm")
    everyone = quality_client.get("/api/quality", params=PERIOD).json()
    assert {"HA", "HB"} <= _hospitals(everyone)
    quality_client.post("/logout")
    login(quality_client, "qm_ha")
    mine = quality_client.get("/api/quality", params=PERIOD).json()
    assert _hospitals(mine) <= {"HA"} and mine["hospitals"] == ["HA"]
    # HA holds two confirmed patients: QC-07 counts only them
    qc07 = next(m for m in mine["measures"] if m["id"] == "QC-07")
    assert qc07["denominator"] <= 2
    assert quality_client.get("/api/quality", params={**PERIOD, "hospital": "HB"}).status_code == 404
    assert quality_client.get("/quality/report.html", params={**PERIOD, "hospital": "HB"}).status_code == 404


def test_fhir_bundle_and_printable_report(quality_client: TestClient) -> None:
    login(quality_client, "qm")
    bundle = quality_client.get("/api/quality/fhir", params=PERIOD)
    assert bundle.status_code == 200 and bundle.headers["content-type"].startswith("application/fhir+json")
    assert bundle.json()["type"] == "collection" and len(bundle.json()["entry"]) == 16  # QC-12; QC-13..15
    report = quality_client.get("/quality/report.html", params=PERIOD)
    assert report.status_code == 200
    assert report.headers["content-security-policy"].startswith("default-src 'none'")
    assert "<svg" in report.text and "观察性比较" in report.text


def test_a_reversed_period_is_refused(quality_client: TestClient) -> None:
    login(quality_client, "qm")
    response = quality_client.get("/api/quality", params={"from": "2026-05-01", "to": "2026-04-01"})
    assert response.status_code == 422


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian chromium")
def test_pdf_report_download(quality_client: TestClient) -> None:
    login(quality_client, "qm_ha")
    response = quality_client.get("/quality/report.pdf", params=PERIOD)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith(b"%PDF-") and b"/ToUnicode" in response.content
