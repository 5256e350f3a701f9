"""Issue 14 item 3: the import page over HTTP — the templates and a filled sample served by the
app, a county hospital's own export previewed with its column mapping (nothing stored, each
refusal by file, sheet, row and column with what to change), then imported from the preview;
zips of the template set or of an export (GBK file names), saved mappings, and the staged
upload held for its owner only."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from api.support import AS_OF, login
from bonepath.api import staging
from bonepath.api.app import create_app
from bonepath.interop.tabular import SHEETS
from bonepath.settings import Settings
from bonepath.store.repository import Store

DATA = Path(__file__).resolve().parents[1] / "interop" / "data"
EXPORT = DATA / "county_his"
MAPPING = DATA / "county_his.mapping.toml"


@pytest.fixture
def app_client(store: Store, sqlite_url: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(database_url=sqlite_url, mapping_dir=str(tmp_path / "mappings"))
    app = create_app(settings, today=lambda: AS_OF, store=store)
    with TestClient(app) as test_client:
        yield test_client


def _export_files() -> list[tuple[str, tuple[str, bytes, str]]]:
    return [
        ("file", (p.name, p.read_bytes(), "application/octet-stream"))
        for p in sorted(EXPORT.iterdir())
    ]


def _mapping_file() -> tuple[str, tuple[str, bytes, str]]:
    return ("mapping_file", (MAPPING.name, MAPPING.read_bytes(), "application/toml"))


class _GbkName(zipfile.ZipInfo):
    """A member named as Chinese Windows' built-in zip names it: GBK bytes, no UTF-8 flag."""

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:  # noqa: N802 - zipfile's name
        return self.filename.encode("gbk"), self.flag_bits


def _staged(page: str) -> str:
    found = re.search(r'name="staged" value="([^"]+)"', page)
    assert found is not None, "no import button"
    return found.group(1)


def _cells(row: str) -> list[str]:
    return re.findall(r"<td[^>]*>(.*?)</td>", row)


def _row(page: str, patient: str, code: str) -> str:
    return page.split(f'<tr data-patient="{patient}" data-code="{code}">', 1)[1].split("</tr>")[0]


def test_templates_and_a_filled_sample_are_served_by_the_app(app_client: TestClient) -> None:
    login(app_client, "admin")
    empty = app_client.get("/import/templates.xlsx")
    assert empty.status_code == 200
    assert empty.headers["content-type"].startswith("application/vnd.openxmlformats")
    workbook = load_workbook(io.BytesIO(empty.content), read_only=True)
    assert [s.title for s in workbook.worksheets][1:] == [s.title for s in SHEETS.values()]
    zipped = zipfile.ZipFile(io.BytesIO(app_client.get("/import/templates.zip").content))
    assert sorted(zipped.namelist()) == sorted([f"{n}.csv" for n in SHEETS] + ["readme.csv"])
    sample = zipfile.ZipFile(io.BytesIO(app_client.get("/import/sample.zip").content))
    patients = sample.read("patients.csv").decode("utf-8-sig").splitlines()
    assert len(patients) == 4 and patients[1].startswith("sample,SAMPLE1,")
    assert app_client.get("/import/other.zip").status_code == 404


def test_the_filled_sample_zip_previews_and_imports_unchanged(
    app_client: TestClient, store: Store
) -> None:
    csrf = login(app_client, "doc_a")  # hospital HA only: the sample is made for HA
    sample = app_client.get("/import/sample.zip").content

    preview = app_client.post(
        "/import/preview",
        data={"csrf_token": csrf},
        files=[("file", ("bonepath-sample.zip", sample, "application/zip"))],
    )

    assert preview.status_code == 200
    assert "将入库 3" in preview.text and "将被拒绝 0" in preview.text
    assert store.get_record("sample", "SAMPLE1") is None  # a preview stores nothing
    done = app_client.post("/import", data={"csrf_token": csrf, "staged": _staged(preview.text)})
    assert "新导入 3" in done.text
    stored = store.get_record("sample", "SAMPLE1")
    assert stored is not None and stored.hospital is not None and stored.hospital.id == "HA"


def test_a_county_export_is_previewed_with_its_mapping_then_imported(
    app_client: TestClient, store: Store
) -> None:
    csrf = login(app_client, "admin")

    preview = app_client.post(
        "/import/preview", data={"csrf_token": csrf}, files=[*_export_files(), _mapping_file()]
    )

    assert preview.status_code == 200, preview.text
    assert "将入库 2" in preview.text and "将被拒绝 5" in preview.text
    assert "尚未写入任何数据" in preview.text
    assert store.get_record("his-county", "ZY0001") is None
    sex = _row(preview.text, "ZY0003", "UNKNOWN_CODE")
    assert _cells(sex)[:5] == ["患者信息.csv", "—", "5", "性别", "ZY0003"]
    assert "“未知”不是性别 / sex的可用值" in sex and "男 / male、女 / female" in sex
    drug = _row(preview.text, "ZY0006", "WRONG_PRODUCT")
    assert _cells(drug)[:4] == ["用药医嘱.xlsx", "医嘱", "5", "药品名称"]
    assert "普罗力（Prolia）为治疗骨质疏松的地舒单抗60 mg" in drug
    lab = _row(preview.text, "ZY0002", "AMBIGUOUS_VALUE")
    assert _cells(lab)[:4] == ["检验结果.csv", "—", "6", "结果"]
    assert "请在患者表中补充该患者" in _row(preview.text, "ZY0009", "UNKNOWN_PATIENT")
    assert str(staging.staging_root()) not in preview.text and "/tmp" not in preview.text

    token = _staged(preview.text)
    done = app_client.post("/import", data={"csrf_token": csrf, "staged": token})

    assert done.status_code == 200
    assert "新导入 2" in done.text and "已拒绝 5" in done.text
    one = store.get_record("his-county", "ZY0001")
    assert one is not None and one.sex.value == "male"
    assert store.get_record("his-county", "ZY0003") is None
    worklist = app_client.get("/worklist")
    assert 'data-patient="ZY0001"' in worklist.text and 'data-patient="ZY0005"' in worklist.text
    again = app_client.post("/import", data={"csrf_token": csrf, "staged": token})
    assert again.status_code == 422 and "upload again" in again.text  # imported once only


def test_a_zip_of_the_export_with_gbk_names_and_a_saved_mapping(
    app_client: TestClient, tmp_path: Path
) -> None:
    csrf = login(app_client, "admin")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(EXPORT.iterdir()):
            archive.writestr(_GbkName("导出/" + path.name), path.read_bytes())
    assert all(not info.flag_bits & 0x800 for info in zipfile.ZipFile(buffer).infolist())
    first = app_client.post(
        "/import/preview",
        data={"csrf_token": csrf, "save_mapping": "1"},
        files=[("file", ("导出.zip", buffer.getvalue(), "application/zip")), _mapping_file()],
    )
    assert first.status_code == 200, first.text
    assert "将入库 2" in first.text
    assert (tmp_path / "mappings" / MAPPING.name).read_text() == MAPPING.read_text()

    page = app_client.get("/import")
    assert f'<option value="{MAPPING.name}">' in page.text
    second = app_client.post(
        "/import/preview",
        data={"csrf_token": csrf, "mapping_name": MAPPING.name},
        files=[("file", ("导出.zip", buffer.getvalue(), "application/zip"))],
    )
    assert "将入库 2" in second.text and "将被拒绝 5" in second.text


def test_a_previewed_upload_is_its_owners_only(app_client: TestClient) -> None:
    csrf = login(app_client, "admin")
    preview = app_client.post(
        "/import/preview", data={"csrf_token": csrf}, files=[*_export_files(), _mapping_file()]
    )
    token = _staged(preview.text)
    app_client.cookies.clear()
    other = login(app_client, "doc_a")

    taken = app_client.post("/import", data={"csrf_token": other, "staged": token})

    assert taken.status_code == 422 and "新导入" not in taken.text
    assert staging.find(token, "admin").directory.exists()  # still the admin's


def test_an_export_without_its_mapping_and_a_bad_mapping_are_refused_in_words(
    app_client: TestClient,
) -> None:
    csrf = login(app_client, "admin")
    bad = ("mapping_file", ("map.toml", b'[[sheets]]\nkind = "nope"\n', "application/toml"))

    page = app_client.post(
        "/import/preview", data={"csrf_token": csrf}, files=[*_export_files(), bad]
    )

    assert page.status_code == 422
    assert "map.toml [[sheets]] #1: kind &#39;nope&#39; is not one of patients" in page.text
    assert "/tmp" not in page.text


def test_an_english_preview_names_no_server_path(app_client: TestClient) -> None:
    csrf = login(app_client, "admin")
    app_client.cookies.set("bonepath_lang", "en")

    page = app_client.post(
        "/import/preview", data={"csrf_token": csrf}, files=[*_export_files(), _mapping_file()]
    )

    row = _row(page.text, "ZY0009", "UNKNOWN_PATIENT")
    assert "1 row(s) name patient &#39;ZY0009&#39;" in row
    assert "(检验结果.csv:9)" in row  # was: the server's staging directory before the name
    assert str(staging.staging_root()) not in page.text


def test_an_export_sent_without_its_mapping_is_told_to_add_one(app_client: TestClient) -> None:
    csrf = login(app_client, "admin")

    page = app_client.post("/import/preview", data={"csrf_token": csrf}, files=_export_files())

    assert "将入库 0" in page.text and 'name="staged"' not in page.text
    assert 'id="needs-mapping"' in page.text and "请连同列映射（.toml）重新上传" in page.text
