"""Where CT studies come from, and the cached images the viewer is served.

A :class:`StudySource` finds a patient's studies, lists their series and loads one as a
:class:`~.dicom.Volume`: :class:`DicomWebSource` (a PACS over DICOMweb) or
:class:`FolderSource` (a folder of DICOM files). :class:`ImagingService` sits on one source:
it picks the series to show (a bone-window reconstruction when the study has one), keeps the
last few volumes in memory and the rendered PNGs in a byte-bounded LRU, so that after the
first image of a study every image is a dictionary look-up or one render of a few
milliseconds (the 100 ms target of issue 17 item 4; bench/imaging_serve_bench.py).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from bonepath.imaging.dicom import (
    BoneWindowEvidence,
    DicomReadError,
    SeriesInfo,
    Volume,
    bone_window_evidence,
    decode_slice,
    load_volume,
    plan_volume,
    series_info,
)
from bonepath.imaging.dicomweb import (
    DicomWebClient,
    DicomWebConfig,
    DicomWebError,
    StudySummary,
    decode_volume,
)
from bonepath.imaging.render import (
    DEFAULT_WINDOWS,
    View,
    Window,
    axial_pixels,
    encode_png,
    sagittal_pixels,
    spine_column,
    view_count,
)

__all__ = [
    "DicomWebSource",
    "FolderSource",
    "ImagingService",
    "StudyError",
    "StudySource",
    "StudyView",
    "choose_series",
]


class StudyError(LookupError):
    """A study, series or image that cannot be had; ``code`` names why (for the page)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


class StudySource(Protocol):
    """Finds, lists and loads CT studies."""

    name: str

    def find_studies(
        self, *, patient_id: str, study_date: dt.date | None = None
    ) -> list[StudySummary]: ...

    def series(self, study_uid: str) -> list[SeriesInfo]: ...

    def load_volume(self, study_uid: str, series_uid: str) -> Volume: ...


class DicomWebSource:
    """A PACS over DICOMweb (QIDO-RS / WADO-RS)."""

    name = "dicomweb"

    def __init__(self, config: DicomWebConfig, *, workers: int = 1) -> None:
        self.client = DicomWebClient(config)
        self.workers = workers

    def find_studies(
        self, *, patient_id: str, study_date: dt.date | None = None
    ) -> list[StudySummary]:
        return self.client.find_studies(patient_id=patient_id, study_date=study_date)

    def series(self, study_uid: str) -> list[SeriesInfo]:
        return self.client.series(study_uid)

    def load_volume(self, study_uid: str, series_uid: str) -> Volume:
        return decode_volume(self.retrieve(study_uid, series_uid), workers=self.workers)

    def retrieve(self, study_uid: str, series_uid: str) -> list[Dataset]:
        """The instances as stored (pixel data not decoded yet)."""
        return self.client.retrieve_series(study_uid, series_uid)


class FolderSource:
    """DICOM files under a folder (searched recursively; headers indexed on first use, at most
    once a minute for a search, and again when a study is not found)."""

    name = "folder"

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._index: dict[str, dict[str, list[Path]]] | None = None
        self._headers: dict[str, SeriesInfo] = {}
        self._scanned_at = 0.0

    def _scan(self) -> dict[str, dict[str, list[Path]]]:
        index: dict[str, dict[str, list[Path]]] = {}
        headers: dict[str, SeriesInfo] = {}
        for f in sorted(p for p in self.root.rglob("*") if p.is_file()):
            try:
                ds = pydicom.dcmread(f, stop_before_pixels=True)
            except (InvalidDicomError, OSError, EOFError, ValueError, KeyError, TypeError):
                continue
            study = str(ds.get("StudyInstanceUID", "") or "")
            series = str(ds.get("SeriesInstanceUID", "") or "")
            if not study or not series or "Rows" not in ds:
                continue
            index.setdefault(study, {}).setdefault(series, []).append(f)
            headers.setdefault(series, series_info(ds))
        for study_series in index.values():
            for uid, files in study_series.items():
                info = headers[uid]
                headers[uid] = replace(info, instances=len(files))
        self._headers = headers
        return index

    RESCAN_S = 60.0
    """A search re-reads the folder's headers at most this often (new files appear within a
    minute); a study that is not in the index is always looked for again."""

    def _studies(self, refresh: bool = False) -> dict[str, dict[str, list[Path]]]:
        with self._lock:
            now = time.monotonic()
            stale = now - self._scanned_at > self.RESCAN_S
            if self._index is None or (refresh and stale):
                self._index = self._scan()
                self._scanned_at = now
            return self._index

    def find_studies(
        self, *, patient_id: str, study_date: dt.date | None = None
    ) -> list[StudySummary]:
        found = []
        for study_uid, series in self._studies(refresh=True).items():
            first = self._headers[next(iter(series))]
            date = _date(first.study_date)
            if first.patient_id != patient_id or (study_date and date != study_date):
                continue
            modalities = tuple(sorted({self._headers[s].modality for s in series}))
            if "CT" not in modalities:
                continue
            found.append(
                StudySummary(study_uid, patient_id, date, "", modalities, len(series), "")
            )
        return sorted(found, key=lambda s: s.study_date or dt.date.min, reverse=True)

    def _series_files(self, study_uid: str) -> dict[str, list[Path]]:
        studies = self._studies()
        if study_uid not in studies:
            with self._lock:
                self._scanned_at = 0.0
            studies = self._studies(refresh=True)
        if study_uid not in studies:
            raise StudyError("NO_SUCH_STUDY", f"study {study_uid} is not in the folder")
        return studies[study_uid]

    def series(self, study_uid: str) -> list[SeriesInfo]:
        return [self._headers[uid] for uid in self._series_files(study_uid)]

    def load_volume(self, study_uid: str, series_uid: str) -> Volume:
        files = self._series_files(study_uid).get(series_uid)
        if not files:
            raise StudyError("NO_SUCH_SERIES", f"series {series_uid} is not in the study")
        return load_volume(files, series_uid=series_uid)

    def retrieve(self, study_uid: str, series_uid: str) -> list[Dataset]:
        """The series' files read (pixel data not decoded yet)."""
        files = self._series_files(study_uid).get(series_uid)
        if not files:
            raise StudyError("NO_SUCH_SERIES", f"series {series_uid} is not in the study")
        return [pydicom.dcmread(f) for f in files]


def _date(text: str) -> dt.date | None:
    if len(text) >= 8 and text[:8].isdigit():
        try:
            return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
        except ValueError:
            return None
    return None


def choose_series(series: Sequence[SeriesInfo]) -> SeriesInfo | None:
    """The series to show: CT axial image series (no localizer), a bone-window reconstruction
    first, then one with a stored bone preset, then the most slices."""
    ct = [
        s
        for s in series
        if s.modality.upper() == "CT"
        and not ({"LOCALIZER", "SCOUT"} & {t.upper() for t in s.image_types})
    ]
    if not ct:
        return None

    def rank(s: SeriesInfo) -> tuple[int, int, int]:
        evidence = bone_window_evidence(s)
        return (int(evidence.reconstruction), int(evidence.preset), s.instances)

    return max(ct, key=rank)


@dataclass(frozen=True)
class StudyView:
    """A study as the viewer opens it: its series, the one shown, its bone-window evidence."""

    study_uid: str
    series: tuple[SeriesInfo, ...]
    shown: SeriesInfo
    evidence: BoneWindowEvidence
    slices: int
    columns: int
    spine_column: int

    @property
    def reading_physician(self) -> str | None:
        """The first NameOfPhysiciansReadingStudy (0008,1060) of the study's headers (the
        shown series first); None when no header names one."""
        for info in (self.shown, *self.series):
            if info.reading_physicians:
                return info.reading_physicians[0]
        return None

    @property
    def has_bone_reconstruction(self) -> bool:
        return any(bone_window_evidence(s).reconstruction for s in self.series)

    def to_dict(self) -> dict[str, Any]:
        return {
            "study_uid": self.study_uid,
            "series_uid": self.shown.series_uid,
            "description": self.shown.description,
            "kernels": list(self.shown.kernels),
            "slices": self.slices,
            "columns": self.columns,
            "spine_column": self.spine_column,
            "bone_window": self.evidence.to_dict(),
            "bone_reconstruction_in_study": self.has_bone_reconstruction,
            "series": [s.to_dict() for s in self.series],
        }


class _LRU:
    """A thread-safe LRU bounded by a cost (bytes, or entries with cost 1)."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._used = 0
        self._lock = threading.Lock()
        self._items: OrderedDict[Any, tuple[Any, int]] = OrderedDict()

    def get(self, key: Any) -> Any | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            self._items.move_to_end(key)
            return found[0]

    def put(self, key: Any, value: Any, cost: int) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._used -= old[1]
            self._items[key] = (value, cost)
            self._used += cost
            while self._used > self.budget and len(self._items) > 1:
                _, (_, dropped) = self._items.popitem(last=False)
                self._used -= dropped


class _Loading:
    """A series being decoded on a background thread, the middle slice first and then outwards
    (the viewer opens in the middle): an image waits only for its own slice. One thread by
    default: the JPEG 2000 decoder (pylibjpeg-openjpeg 2.6) holds the GIL while it decodes, so
    a second thread adds no speed, only waiting for the requests being served."""

    def __init__(self, datasets: Sequence[Dataset], workers: int) -> None:
        self.volume, slices = plan_volume(datasets)
        n = len(slices)
        middle = n // 2
        order = sorted(range(n), key=lambda i: (abs(i - middle), i))
        self._slices = slices
        self._done = [threading.Event() for _ in range(n)]
        self.errors: dict[int, DicomReadError] = {}
        self._queue = iter(order)
        self._queue_lock = threading.Lock()
        for _ in range(max(1, min(workers, n))):
            threading.Thread(target=self._work, daemon=True, name="bonepath-decode").start()

    @classmethod
    def whole(cls, volume: Volume) -> _Loading:
        """A volume a source loaded whole: every slice is there."""
        loading = cls.__new__(cls)
        loading.volume = volume
        loading._slices = []
        loading._done = [threading.Event() for _ in range(volume.shape[0])]
        for event in loading._done:
            event.set()
        loading.errors = {}
        return loading

    def _work(self) -> None:
        while True:
            with self._queue_lock:
                index = next(self._queue, None)
            if index is None:
                return
            try:
                decode_slice(self.volume, index, self._slices[index])
            except DicomReadError as exc:
                self.errors[index] = exc
            except Exception as exc:  # a codec failure of any kind names the slice
                self.errors[index] = DicomReadError("CANNOT_DECODE", f"slice {index}: {exc}")
            finally:
                if index in self.errors:
                    self.volume.hu[index] = -1024  # air, never uninitialised memory
                self._slices[index] = Dataset()  # the encoded bytes are no longer needed
                self._done[index].set()

    def wait(self, index: int) -> None:
        self._done[index].wait()
        if index in self.errors:
            error = self.errors[index]
            raise StudyError(error.code, error.detail)

    def wait_range(self, start: int, stop: int, *, strict: bool = True) -> None:
        """Wait for slices ``start:stop``; ``strict=False`` does not raise for a broken one."""
        for i in range(max(0, start), min(stop, len(self._done))):
            if strict:
                self.wait(i)
            else:
                self._done[i].wait()

    def wait_all(self) -> Volume:
        self.wait_range(0, len(self._done))
        return self.volume


class ImagingService:
    """Studies of one source, with volumes and rendered images cached (thread-safe)."""

    def __init__(
        self,
        source: StudySource,
        *,
        windows: Sequence[Window] = DEFAULT_WINDOWS,
        volumes: int = 2,
        image_cache_bytes: int = 256 * 1024 * 1024,
        workers: int = 1,
    ) -> None:
        self.source = source
        self.workers = workers
        self.windows = {w.name: w for w in windows}
        self._volumes = _LRU(volumes)
        self._views = _LRU(64)
        self._images = _LRU(image_cache_bytes)
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def window(self, name: str) -> Window:
        try:
            return self.windows[name]
        except KeyError:
            raise StudyError("NO_SUCH_WINDOW", f"no window named {name!r}") from None

    @property
    def bone_window(self) -> Window:
        return self.windows["bone"]

    def find_studies(
        self, patient_id: str, study_date: dt.date | None = None
    ) -> list[StudySummary]:
        try:
            return self.source.find_studies(patient_id=patient_id, study_date=study_date)
        except DicomWebError as exc:
            raise StudyError(exc.code, exc.detail) from exc

    def _lock(self, key: tuple[str, str]) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(key, threading.Lock())

    def _loading(self, study_uid: str, series_uid: str) -> _Loading:
        """The series retrieved and being decoded (once; concurrent callers share it)."""
        key = (study_uid, series_uid)
        found = self._volumes.get(key)
        if found is not None:
            return found  # type: ignore[no-any-return]
        with self._lock(key):
            found = self._volumes.get(key)
            if found is not None:
                return found  # type: ignore[no-any-return]
            try:
                retrieve = getattr(self.source, "retrieve", None)
                if retrieve is not None:
                    loading = _Loading(retrieve(study_uid, series_uid), self.workers)
                else:  # a source that only loads whole volumes
                    loading = _Loading.whole(self.source.load_volume(study_uid, series_uid))
            except DicomWebError as exc:
                raise StudyError(exc.code, exc.detail) from exc
            except DicomReadError as exc:
                raise StudyError(exc.code, exc.detail) from exc
            self._volumes.put(key, loading, 1)
            return loading

    def volume(self, study_uid: str, series_uid: str) -> Volume:
        """The series as HU, every slice decoded (loaded once)."""
        return self._loading(study_uid, series_uid).wait_all()

    def open(self, study_uid: str, series_uid: str | None = None) -> StudyView:
        """The study's series, the one to show (``series_uid`` or :func:`choose_series`), loaded."""
        key = (study_uid, series_uid or "")
        found = self._views.get(key)
        if found is not None:
            return found  # type: ignore[no-any-return]
        try:
            series = self.source.series(study_uid)
        except DicomWebError as exc:
            raise StudyError(exc.code, exc.detail) from exc
        if series_uid:
            shown = next((s for s in series if s.series_uid == series_uid), None)
        else:
            shown = choose_series(series)
        if shown is None:
            raise StudyError("NO_CT_SERIES", f"study {study_uid} has no CT image series to show")
        loading = self._loading(study_uid, shown.series_uid)
        volume = loading.volume
        # the spine's column from the middle slices (decoded first), not the whole series
        middle, half = volume.shape[0] // 2, 8
        loading.wait_range(middle - half, middle + half, strict=False)
        around = replace(volume, hu=volume.hu[max(0, middle - half) : middle + half])
        info = replace(shown, instances=volume.shape[0])
        view = StudyView(
            study_uid=study_uid,
            series=tuple(series),
            shown=info,
            evidence=bone_window_evidence(info),
            slices=volume.shape[0],
            columns=volume.shape[2],
            spine_column=spine_column(around),
        )
        self._views.put(key, view, 1)
        if series_uid is None:
            self._views.put((study_uid, shown.series_uid), view, 1)
        return view

    def pixels(
        self, study_uid: str, series_uid: str, view: View, index: int, window: str
    ) -> npt.NDArray[np.uint8]:
        loading = self._loading(study_uid, series_uid)
        volume = loading.volume
        if not 0 <= index < view_count(volume, view):
            raise StudyError("NO_SUCH_IMAGE", f"{view} image {index} is outside the series")
        w = self.window(window)
        if view == "axial":
            loading.wait(index)
            return axial_pixels(volume, index, w)
        return sagittal_pixels(loading.wait_all(), index, w)

    def image(self, study_uid: str, series_uid: str, view: View, index: int, window: str) -> bytes:
        """A PNG, from the cache or rendered (and cached)."""
        key = (study_uid, series_uid, view, index, window)
        found = self._images.get(key)
        if found is not None:
            return found  # type: ignore[no-any-return]
        png = encode_png(self.pixels(study_uid, series_uid, view, index, window))
        self._images.put(key, png, len(png))
        return png

    def prerender(
        self,
        study_uid: str,
        series_uid: str,
        window: str,
        *,
        stop: Callable[[], bool] = lambda: False,
    ) -> int:
        """Render every axial image of a series in ``window`` into the cache (a background
        thread after the first image: scrolling then never renders). The number rendered."""
        volume = self.volume(study_uid, series_uid)
        done = 0
        for i in range(volume.shape[0]):
            if stop():
                break
            self.image(study_uid, series_uid, "axial", i, window)
            done += 1
        return done
