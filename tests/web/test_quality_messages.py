"""The quality dashboard says what is wrong in the page's language (issue 15 item 8): a
reversed, unreadable or blank period, an unknown hospital, a server without Chromium for the
PDF; hospitals by name, every stratum of the report on screen, no internal references."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.support import AS_OF, login, seed
from bonepath.api.app import create_app
from bonepath.errors import ConfigError
from bonepath.settings import Settings
from bonepath.store.repository import open_store

PERIOD = {"from": "2026-01-01", "to": AS_OF.isoformat()}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path}/q.sqlite3"
    with open_store(url) as store:
        seed(store, synthetic=40)
        app = create_app(Settings(database_url=url), today=lambda: AS_OF, store=store)
        with TestClient(app) as test_client:
            login(test_client, "qm")
            yield test_client


def test_periods_and_hospitals_that_cannot_be_shown_are_said_in_chinese(
    client: TestClient,
) -> None:
    reversed_ = client.get("/quality", params={"from": "2026-11-01", "to": "2026-01-01"})
    assert reversed_.status_code == 422
    assert "起始日期晚于截止日期：请交换两个日期。" in reversed_.text
    unreadable = client.get("/quality", params={"from": "2026-13-01"})
    assert unreadable.status_code == 422 and "日期的写法如 2026-11-02。" in unreadable.text
    blank = client.get("/quality", params={"from": "", "to": "", "hospital": ""})
    assert blank.status_code == 200 and 'data-measure="QC-01"' in blank.text
    unknown = client.get("/quality", params={**PERIOD, "hospital": "H99"})
    assert unknown.status_code == 404 and "未知医院：H99。请从列表中选择医院。" in unknown.text
    client.get("/lang/en")
    english = client.get("/quality", params={"from": "2026-11-01", "to": "2026-01-01"})
    assert "The period starts after it ends: swap the two dates." in english.text


def test_every_stratum_on_screen_hospitals_by_name_no_internal_references(
    client: TestClient,
) -> None:
    page = client.get("/quality", params=PERIOD).text
    for stratum in ("医院", "城市级别", "医院类型", "科室"):
        assert f"QC-01 · {stratum}" in page, stratum
    assert "Hospital HA (HA)" in page  # the hospital select names the hospital
    assert "rules.md" not in page and "§" not in page


def test_the_pdf_without_chromium_says_why_in_chinese(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bonepath.quality import report

    def no_chromium(html: str, out: Path) -> None:
        raise ConfigError("no Chromium found")

    monkeypatch.setattr(report, "html_to_pdf", no_chromium)
    pdf = client.get("/quality/report.pdf", params=PERIOD)
    assert pdf.status_code == 503
    assert "本服务器未安装 Chromium，无法生成PDF" in pdf.text
    assert "出现错误" not in pdf.text
