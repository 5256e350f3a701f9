"""Issue 14: a template CSV uploaded on the import page is read as the sheet its name says,
Chinese values are taken, and refusals name the user's file, never the server's temporary path."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient

from api.support import due_patient, login
from bonepath.interop.tabular import SHEETS, template_rows
from bonepath.store.repository import Store


def _patients_csv(*records: dict[str, object]) -> bytes:
    stream = io.StringIO()
    writer = csv.writer(stream)
    writer.writerow([column.header for column in SHEETS["patients"].columns])
    for record in records:
        writer.writerows(template_rows(record)["patients"])
    return stream.getvalue().encode("utf-8-sig")


def test_a_template_csv_upload_is_imported_with_chinese_values(
    client: TestClient, store: Store
) -> None:
    csrf = login(client, "doc_a")
    good = due_patient("A-CSV")
    good.pop("events", None)
    good["sex"] = "男"
    good["cancer"]["histology"] = "腺癌"
    bad = {**good, "id": "A-CSV-BAD", "sex": "未知"}
    body = _patients_csv(good, bad)

    page = client.post(
        "/import",
        data={"csrf_token": csrf},
        files={"file": ("patients.csv", body, "text/csv")},
    )

    assert page.status_code == 200
    assert "新导入 1" in page.text and "已拒绝 1" in page.text
    assert "UNKNOWN_FIELD" not in page.text  # was: the upload saved as upload.csv, no sheet
    assert (
        '<td class="where">patients.csv</td><td class="where">—</td><td class="num">3</td>'
        in page.text
    )
    assert "bonepath-upload-" not in page.text and "/tmp" not in page.text
    row = page.text.split('<tr data-patient="A-CSV-BAD" data-code="UNKNOWN_CODE">', 1)[1]
    row = row.split("</tr>", 1)[0]
    assert row.startswith(
        '<td class="where">patients.csv</td><td class="where">—</td><td class="num">3</td><td class="where">性别 / sex</td>'
    )
    assert "（可接受：男 / male、女 / female）" in row and "<code>/sex</code>" in row
    record = store.get_record(good["source"], "A-CSV")
    assert record is not None
    assert (record.sex.value, record.cancer.histology) == ("male", "adenocarcinoma")
