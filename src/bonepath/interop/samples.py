"""The import templates and a filled sample as downloadable files (the import page's links).

Made by the code of ``bonepath template`` (:func:`bonepath.interop.tabular.write_workbook`,
:func:`~bonepath.interop.tabular.write_csv_set`): the empty templates, and the same filled with
a few synthetic patients (:func:`bonepath.synth.generate.generate_record`, source ``sample``)
of the downloader's hospital, so that uploading the sample unchanged is accepted.
"""

from __future__ import annotations

import datetime as dt
import io
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Final, Literal

SAMPLE_PATIENTS: Final = 3
SAMPLE_SEED: Final = 14
SAMPLE_SOURCE: Final = "sample"

Kind = Literal["xlsx", "zip"]


def sample_records(as_of: dt.date, hospital: str | None) -> list[dict[str, Any]]:
    """A few synthetic records as of ``as_of``, ids ``SAMPLE1``…, of ``hospital`` when given."""
    from bonepath.synth.generate import generate_record

    records = []
    for index in range(SAMPLE_PATIENTS):
        record = generate_record(index, SAMPLE_SEED, as_of)
        record["source"] = SAMPLE_SOURCE
        record["id"] = f"SAMPLE{index + 1}"
        if hospital is not None:
            record["hospital"] = {**record.get("hospital", {}), "id": hospital}
            record["hospital"].pop("name", None)
        records.append(record)
    return records


def template_file(kind: Kind, records: list[dict[str, Any]] | None = None) -> bytes:
    """The template workbook (``xlsx``) or the zip of the template CSV set (``zip``), filled
    with ``records`` when given."""
    from bonepath.interop.tabular import write_csv_set, write_workbook

    with tempfile.TemporaryDirectory(prefix="bonepath-template-") as directory:
        folder = Path(directory)
        if kind == "xlsx":
            return write_workbook(folder / "template.xlsx", records or ()).read_bytes()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in write_csv_set(folder / "csv", records or ()):
                archive.write(path, path.name)
        return buffer.getvalue()
