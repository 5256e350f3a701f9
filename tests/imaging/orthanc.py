"""A real Orthanc (Debian packages ``orthanc`` + ``orthanc-dicomweb``) for the tests: started on a
free port with a temporary configuration (DICOMweb plug-in enabled, HTTP basic authentication,
no DICOM port), loaded over its REST API, stopped at the end."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ORTHANC = shutil.which("Orthanc") or "/usr/sbin/Orthanc"
PLUGIN_DIRS = (Path("/usr/share/orthanc/plugins"), Path("/usr/lib/orthanc"))
USER, PASSWORD = "bonepath", "pacs-test-secret"


def dicomweb_plugin() -> Path | None:
    for folder in PLUGIN_DIRS:
        if folder.is_dir():
            for f in sorted(folder.iterdir()):
                if f.name.startswith("libOrthancDicomWeb.so"):
                    return f
    return None


def available() -> bool:
    return Path(ORTHANC).exists() and dicomweb_plugin() is not None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Orthanc:
    url: str  # the REST root, http://127.0.0.1:PORT

    @property
    def dicomweb(self) -> str:
        return f"{self.url}/dicom-web"

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, auth=(USER, PASSWORD), timeout=30)

    def upload(self, files: Iterable[Path]) -> int:
        """POST each file to /instances; the number stored."""
        n = 0
        with self.client() as c:
            for f in files:
                r = c.post("/instances", content=f.read_bytes())
                r.raise_for_status()
                n += 1
        return n


@contextmanager
def running_orthanc(workdir: Path) -> Iterator[Orthanc]:
    plugin = dicomweb_plugin()
    assert plugin is not None
    port = free_port()
    storage = workdir / "storage"
    storage.mkdir(parents=True, exist_ok=True)
    config = {
        "Name": "bonepath-test",
        "HttpPort": port,
        "HttpServerEnabled": True,
        "DicomServerEnabled": False,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": True,
        "RegisteredUsers": {USER: PASSWORD},
        "StorageDirectory": str(storage),
        "IndexDirectory": str(storage),
        "Plugins": [str(plugin)],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": False},
        "StorageCompression": False,
        "HttpTimeout": 30,
        "ConcurrentJobs": 1,
        "HttpThreadsCount": 8,
    }
    path = workdir / "orthanc.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    log = (workdir / "orthanc.log").open("wb")
    proc = subprocess.Popen(
        [ORTHANC, str(path)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "LANG": "C.UTF-8"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    "Orthanc exited: " + (workdir / "orthanc.log").read_text(errors="replace")[-2000:]
                )
            try:
                r = httpx.get(f"{url}/system", auth=(USER, PASSWORD), timeout=1)
                if r.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("Orthanc did not start in 30 s")
            time.sleep(0.1)
        yield Orthanc(url)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
