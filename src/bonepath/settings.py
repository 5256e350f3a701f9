"""Deployment settings (``BONEPATH_*`` environment variables), built by the entry points.

Clinical parameters (``as_of``, language, rules version) are never settings: they are explicit
arguments, so the guideline cannot change behaviour because of the environment.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from platformdirs import user_data_dir
from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_database_url() -> str:
    """The embedded SQLite store: a file under the user's data directory."""
    directory = Path(user_data_dir("bonepath", appauthor=False))
    return f"sqlite:///{directory / 'bonepath.sqlite3'}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BONEPATH_", extra="ignore")

    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    # the web application (bonepath serve): Secure cookies behind HTTPS; proxies trusted for
    # X-Forwarded-For/-Proto (comma-separated addresses, as uvicorn's forwarded_allow_ips)
    cookie_secure: bool = False
    forwarded_allow_ips: str = "127.0.0.1"
    # evaluate every hospital's worklist of the day in the background when the server starts
    # and when the day changes (api/services.py WorklistWarmer), so no user waits for it
    worklist_warmup: bool = False
    # a quality period not evaluated yet, on a registry of more patients than this, is evaluated
    # in the background: the page says it is being computed and refreshes itself (docs/web.md)
    quality_background_patients: int = 5000
    # request body limits in bytes, enforced while the body streams in (api/limits.py,
    # docs/operations.md "Request limits"): file imports (/api/imports, /import), FHIR Bundles
    # and CDS Hooks calls (/fhir, /cds-services), and every other route (JSON events, forms)
    body_limit_import_bytes: int = 50 * 1024 * 1024
    body_limit_interop_bytes: int = 10 * 1024 * 1024
    body_limit_bytes: int = 1024 * 1024
    # column mappings saved from the import page for the next import (bonepath-mapping/1 TOML
    # files; docs/web.md "Import page"); empty: <user data dir>/bonepath/mappings
    mapping_dir: str = ""
    # the time zone the pages show times in (the audit log; stored times are UTC), an IANA name
    timezone: str = "Asia/Shanghai"
    # CT images (issue 17; docs/imaging.md "Connecting a PACS"): a DICOMweb service (QIDO-RS /
    # WADO-RS base URL) with HTTP basic credentials or a bearer token, or a folder of DICOM
    # files; the window presets (name=WW/WL, comma-separated; the whitepaper's ranges hold for
    # bone, lung and mediastinum) and the rendered-image cache
    dicomweb_url: str = ""
    dicomweb_username: str = ""
    dicomweb_password: str = ""
    dicomweb_token: str = ""
    dicomweb_timeout_s: float = 30.0
    # "true", "false" (no TLS verification: test systems only) or the path of a CA bundle
    dicomweb_verify: str = "true"
    dicom_folder: str = ""
    imaging_windows: str = ""
    imaging_cache_mb: int = 256

    @field_validator("database_url")
    @classmethod
    def _default_to_embedded(cls, value: str) -> str:
        return value.strip() or default_database_url()

    @property
    def mappings_path(self) -> Path:
        """Where the import page keeps saved column mappings."""
        if self.mapping_dir.strip():
            return Path(self.mapping_dir.strip())
        return Path(user_data_dir("bonepath", appauthor=False)) / "mappings"

    @field_validator("body_limit_import_bytes", "body_limit_interop_bytes", "body_limit_bytes")
    @classmethod
    def _limit_positive(cls, value: int) -> int:
        if value < 1024:
            raise ValueError("a body limit is at least 1024 bytes")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name: Asia/Shanghai)") from None
        return value.strip()

    @property
    def zone(self) -> ZoneInfo:
        """:attr:`timezone` as a ``ZoneInfo``."""
        return ZoneInfo(self.timezone)

    @field_validator("imaging_windows")
    @classmethod
    def _windows_readable(cls, value: str) -> str:
        from bonepath.imaging.windows import WindowSpecError, parse_windows

        try:
            parse_windows(value)
        except WindowSpecError as exc:
            raise ValueError(str(exc)) from None
        return value.strip()

    @field_validator("port")
    @classmethod
    def _port_in_range(cls, value: int) -> int:
        if not 1 <= value <= 65535:
            raise ValueError("port must be 1-65535")
        return value
