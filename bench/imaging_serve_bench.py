"""CT images from a real PACS: study load and bone-window image serve time (issue 17 item 4).

    .venv/bin/python bench/imaging_serve_bench.py [--slices 20 300] [--n 100]

For each size, a real Orthanc (Debian ``orthanc`` + ``orthanc-dicomweb``, temp config, free
port) holds one CT series of patient ``A-CT``: the shared TotalSegmentator series (20 slices,
512 × 512, JPEG 2000 lossless as shipped) or, for 300, the same slices repeated to 300
instances (their JPEG 2000 pixel data copied, positions 2 mm apart: a 300-slice study of real
encoded CT). The application runs under uvicorn on loopback (SQLite store, the seeded patient,
``BONEPATH_DICOMWEB_URL`` = the Orthanc); a logged-in httpx client measures:

- **study load**: ``GET /imaging/study`` the first time — QIDO-RS search, series headers,
  WADO-RS retrieval of every instance, JPEG 2000 decoding (2 threads), the spine column;
- **first image**: the first bone-window axial PNG, the middle slice (window + encode, then
  cached); the series decodes on background threads from the middle outwards;
- **image while decoding**: the next 10 slices, asked for at once (the decode goes on);
- **whole series decoded**: the sagittal reformat needs every slice: from the study request to
  its answer;
- **image, new slice**: other slices in the bone window, after the decode (rendered on request);
- **image, again**: the same slices again (served from the PNG cache);
- **sagittal**: the spine reformat in the bone window (new, then cached);
- the **floor** of the same run: ``GET /static/imaging.css`` (no session, no work) and an
  authenticated request that does nothing but the session check (``GET /api/me``).

Medians, p95 and max in milliseconds; the numbers go in bench/README.md "CT images".
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pydicom
import uvicorn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from api.support import AS_OF, login  # noqa: E402
from bonepath.api.app import create_app  # noqa: E402
from bonepath.store.repository import open_store  # noqa: E402
from imaging.dicom_data import CT_DICOM, SERIES_UID, STUDY_UID, instance_uid  # noqa: E402
from imaging.orthanc import available, free_port, running_orthanc  # noqa: E402
from web.imaging_support import CT_DATE, CT_KEY, CT_PATIENT, pacs_settings, seed_imaging  # noqa: E402


def series_files(target: Path, slices: int) -> list[Path]:
    """``slices`` instances of the shared series' encoded slices (repeated), patient A-CT."""
    target.mkdir(parents=True, exist_ok=True)
    sources = sorted(CT_DICOM.iterdir())
    out = []
    for i in range(slices):
        ds = pydicom.dcmread(sources[i % len(sources)])
        uid = instance_uid(i) if i < 900 else f"2.25.99{i}"
        ds.SOPClassUID = pydicom.uid.CTImageStorage
        ds.SOPInstanceUID = uid
        ds.file_meta.MediaStorageSOPClassUID = pydicom.uid.CTImageStorage
        ds.file_meta.MediaStorageSOPInstanceUID = uid
        ds.StudyInstanceUID = STUDY_UID
        ds.SeriesInstanceUID = SERIES_UID
        ds.PatientID = CT_PATIENT
        ds.PatientName = "BENCH^CT"
        ds.StudyDate = CT_DATE.strftime("%Y%m%d")
        ds.InstanceNumber = i + 1
        z = -1000.0 + 2.0 * i
        ds.ImagePositionPatient = [-249.51171875, -437.51171875, z]
        ds.SliceLocation = z
        path = target / f"{i:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        out.append(path)
    return out


def timed(call: Callable[[], httpx.Response]) -> float:
    start = time.perf_counter()
    response = call()
    elapsed = (time.perf_counter() - start) * 1000
    assert response.status_code == 200, (response.status_code, response.text[:300])
    return elapsed


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "n": len(values),
        "median_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
        "max_ms": round(ordered[-1], 1),
    }


def run(slices: int, n: int, work: Path) -> dict[str, Any]:
    files = series_files(work / "ct", slices)
    with running_orthanc(work / "orthanc") as orthanc:
        start = time.perf_counter()
        orthanc.upload(files)
        upload_s = time.perf_counter() - start
        url = f"sqlite:///{work / 'bench.sqlite3'}"
        with open_store(url) as store:
            seed_imaging(store)
            app = create_app(pacs_settings(url, orthanc), today=lambda: AS_OF, store=store)
            port = free_port()
            server = uvicorn.Server(
                uvicorn.Config(app, host="127.0.0.1", port=port, access_log=False, log_level="warning")
            )
            thread = threading.Thread(target=server.run, daemon=True)
            thread.start()
            while not server.started:
                time.sleep(0.05)
            try:
                with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600) as client:
                    login(client, "doc_a")  # type: ignore[arg-type]
                    floor_static = [timed(lambda: client.get("/static/imaging.css")) for _ in range(n)]
                    floor_auth = [timed(lambda: client.get("/api/me")) for _ in range(n)]
                    query = {"source": "his", "patient": CT_PATIENT, "item": CT_KEY}
                    started = time.perf_counter()
                    load_ms = timed(lambda: client.get("/imaging/study", params=query))
                    study = client.get("/imaging/study", params=query).json()

                    def image(view: str, index: int) -> httpx.Response:
                        return client.get(
                            "/imaging/image",
                            params={**study["query"], "view": view, "index": index, "window": "bone"},
                        )

                    count = study["slices"]
                    middle = count // 2
                    first = timed(lambda: image("axial", middle))
                    # scrolling on while the rest of the series still decodes (middle outwards)
                    during = [timed(lambda i=i: image("axial", i)) for i in range(middle + 1, min(count, middle + 11))]
                    # the sagittal reformat needs every slice: it waits for the whole series
                    sag_first = timed(lambda: image("sagittal", study["spine_column"]))
                    decoded_s = time.perf_counter() - started
                    rest = [i for i in range(count) if not middle <= i <= middle + 10]
                    order = rest[:n]
                    new = [timed(lambda i=i: image("axial", i)) for i in order]
                    again = [timed(lambda i=i: image("axial", i)) for i in order]
                    sag_again = [timed(lambda: image("sagittal", study["spine_column"])) for _ in range(20)]
            finally:
                server.should_exit = True
                thread.join(timeout=10)
    return {
        "slices": slices,
        "upload_s": round(upload_s, 1),
        "study_load_ms": round(load_ms, 1),
        "first_image_ms": round(first, 1),
        "image_while_decoding": summary(during),
        "whole_series_decoded_s": round(decoded_s, 1),
        "image_new_slice": summary(new),
        "image_again": summary(again),
        "sagittal_first_ms": round(sag_first, 1),
        "sagittal_again": summary(sag_again),
        "floor_static": summary(floor_static),
        "floor_authenticated": summary(floor_auth),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--slices", type=int, nargs="+", default=[20, 300])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "imaging_serve.json")
    args = parser.parse_args()
    if not available():
        sys.exit("needs Orthanc + orthanc-dicomweb (apt-get install orthanc orthanc-dicomweb)")
    results = []
    for slices in args.slices:
        with tempfile.TemporaryDirectory() as tmp:
            result = run(slices, args.n, Path(tmp))
        print(json.dumps(result, indent=1))
        results.append(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"date": dt.date.today().isoformat(), "results": results}, indent=1),
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
