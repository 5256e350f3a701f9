"""Uploads kept between the import page's preview and its import.

The import page first previews an upload (what would be stored, what refused, nothing
written), then imports exactly the files previewed. Between the two the files wait in a
directory of their own under :func:`staging_root`, named by an unguessable token that only the
uploader's page holds; the directory records its owner, is refused to anyone else, and is
removed after the import, or after :data:`STAGING_TTL` by the next upload.

A zip (the template CSV set, or a folder of export files) is unpacked flat into the directory:
only importable files, at most :data:`MAX_MEMBERS` of them and :data:`UNZIP_FACTOR` times the
import body limit in all (counted while writing, not from the zip's own header), file names
decoded as written by Chinese Windows (GB18030 when the zip does not say UTF-8).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from bonepath.errors import InputError, NotFound

STAGING_TTL: Final = dt.timedelta(hours=1)
MAX_MEMBERS: Final = 200
UNZIP_FACTOR: Final = 4
TABLE_UPLOADS: Final = (".csv", ".xlsx", ".xlsm")
RECORD_UPLOADS: Final = (".json", ".ndjson", ".jsonl", *TABLE_UPLOADS)
"""What a staged upload may hold (a zip is unpacked into these)."""
MAPPING_NAME: Final = "mapping.toml"
_OWNER: Final = "owner"
_FILES: Final = "files"
_TOKEN: Final = re.compile(r"[A-Za-z0-9_-]{24,64}")
SAFE_NAME: Final = re.compile(r"[\w\- ().\u3000-\u303f\uff00-\uffef]+")
"""Letters (any script, so 检验.csv), digits, _ - . ( ) spaces and CJK punctuation."""


def staging_root() -> Path:
    """The directory holding staged uploads (private to this system user)."""
    root = Path(tempfile.gettempdir()) / f"bonepath-import-staging-{os.getuid()}"
    root.mkdir(mode=0o700, exist_ok=True)
    return root


def safe_name(name: str, suffix: str, fallback: str = "upload") -> str:
    """``name`` without any folder, or ``fallback + suffix`` when it holds odd characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    ok = SAFE_NAME.fullmatch(base) and not base.startswith(".") and len(base) <= 120
    return base if ok else fallback + suffix


@dataclass(frozen=True, slots=True)
class Staged:
    """One staged upload: its token, its files' directory and its mapping, if any."""

    token: str
    directory: Path

    @property
    def files_dir(self) -> Path:
        return self.directory / _FILES

    @property
    def mapping(self) -> Path | None:
        path = self.directory / MAPPING_NAME
        return path if path.exists() else None

    @property
    def files(self) -> list[Path]:
        return sorted(self.files_dir.iterdir())

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def stage(owner: str) -> Staged:
    """A new, empty staged upload of ``owner`` (older ones past :data:`STAGING_TTL` go)."""
    root = staging_root()
    _sweep(root)
    token = secrets.token_urlsafe(24)
    directory = root / token
    (directory / _FILES).mkdir(parents=True, mode=0o700)
    (directory / _OWNER).write_text(owner, encoding="utf-8")
    return Staged(token, directory)


def find(token: str, owner: str) -> Staged:
    """The staged upload ``token`` of ``owner``.

    Raises
    ------
    NotFound
        No such upload, another user's, or one older than :data:`STAGING_TTL`.
    """
    gone = NotFound("the previewed upload is gone (imported, or older than an hour); upload again")
    if not _TOKEN.fullmatch(token):
        raise gone
    directory = staging_root() / token
    try:
        stored_owner = (directory / _OWNER).read_text(encoding="utf-8")
        age = dt.datetime.now().timestamp() - directory.stat().st_mtime
    except OSError:
        raise gone from None
    if stored_owner != owner or age > STAGING_TTL.total_seconds():
        raise gone
    return Staged(token, directory)


def _sweep(root: Path) -> None:
    limit = dt.datetime.now().timestamp() - STAGING_TTL.total_seconds()
    for child in root.iterdir():
        try:
            if child.stat().st_mtime < limit:
                shutil.rmtree(child, ignore_errors=True)
        except OSError:
            continue


def _member_name(info: zipfile.ZipInfo) -> str:
    """The member's name as its writer meant it: zips from Chinese Windows store GBK names
    without the UTF-8 flag, which Python reads as code page 437."""
    if info.flag_bits & 0x800:
        return info.filename
    raw = info.filename.encode("cp437", errors="replace")
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return info.filename


def unpack_zip(archive: Path, directory: Path, *, limit: int) -> list[Path]:
    """The importable files of ``archive`` written flat into ``directory`` (folders inside the
    zip are dropped; other files skipped); ``limit`` bytes unpacked in all.

    Raises
    ------
    InputError
        Not a zip; more than :data:`MAX_MEMBERS` files; more than ``limit`` bytes; two files
        of one name; no importable file.
    """
    written: list[Path] = []
    total = 0
    try:
        with zipfile.ZipFile(archive) as opened:
            members = [info for info in opened.infolist() if not info.is_dir()]
            if len(members) > MAX_MEMBERS:
                raise InputError(f"{archive.name}: more than {MAX_MEMBERS} files in the zip")
            for info in members:
                name = _member_name(info)
                base = name.rsplit("/", 1)[-1]
                suffix = Path(base).suffix.lower()
                if name.startswith("__MACOSX/") or base.startswith(".") or not base:
                    continue
                if suffix not in RECORD_UPLOADS:
                    continue
                target = directory / safe_name(base, suffix, f"upload{len(written) + 1}")
                if target.exists():
                    raise InputError(f"{archive.name}: two files named {target.name} in the zip")
                with opened.open(info) as source, target.open("wb") as out:
                    while chunk := source.read(1024 * 1024):
                        total += len(chunk)
                        if total > limit:
                            raise InputError(
                                f"{archive.name}: more than {limit // (1024 * 1024)} MiB unpacked"
                            )
                        out.write(chunk)
                written.append(target)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError) as exc:
        raise InputError(f"{archive.name}: not a readable zip ({exc})", code="BAD_ARCHIVE") from None
    if not written:
        raise InputError(
            f"{archive.name}: no importable file in the zip; accepted: {', '.join(RECORD_UPLOADS)}"
        )
    return written
