"""Settings, read once from the environment (and `.env`)."""

from __future__ import annotations

import hashlib
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Unix socket paths are limited to ~107 bytes and the local servers keep theirs in this
# directory; a checkout at a deep path gets a short directory under /tmp instead.
MAX_STATE_DIR_LEN = 60


def default_state_dir(root: Path = PROJECT_ROOT) -> Path:
    local = root / ".local"
    if len(str(local)) <= MAX_STATE_DIR_LEN:
        return local
    digest = hashlib.sha256(str(root).encode()).hexdigest()[:10]
    return Path(tempfile.gettempdir()) / f"marketbel-{digest}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # Unset means: start (or reuse) the project-local PostgreSQL/Redis under `.local/`.
    database_url: str | None = Field(default=None)
    redis_url: str | None = Field(default=None)
    google_application_credentials: Path | None = None
    # Send Sheets API calls here instead of https://sheets.googleapis.com (a proxy, or the
    # local stand-in the tests use). The OAuth token endpoint comes from the credentials file.
    google_sheets_api_url: str | None = None
    # Rows per values:batchGet request: bounds request and response size on big sheets.
    google_rows_per_request: int = Field(default=5000, ge=100)
    # Our own bounded backoff on 429/5xx (gspread's BackOffHTTPClient retries without end):
    # waits of base, 2*base, 4*base ... seconds, at most google_max_attempts calls.
    google_backoff_base_s: float = Field(default=2.0, ge=0)
    google_max_attempts: int = Field(default=4, ge=1, le=10)

    # Limits on what a supplier's file may be (a file over one fails with `limit_exceeded`).
    max_file_mb: float = Field(default=200, gt=0)
    max_rows: int = Field(default=2_000_000, gt=0)  # per sheet
    max_columns: int = Field(default=1_000, gt=0)
    max_cell_chars: int = Field(default=2_000_000, gt=0)
    max_sheets: int = Field(default=50, gt=0)
    max_xlsx_unzipped_mb: float = Field(default=1_000, gt=0)  # zip bombs
    max_xlsx_compression_ratio: float = Field(default=200, gt=1)
    task_timeout_s: int = Field(default=30 * 60, gt=0)  # RQ job timeout: a clean stop
    # `loader status` and the worker's periodic log warn above this many waiting tasks.
    queue_depth_warning: int = Field(default=1000, gt=0)
    # File sources may only read under this directory (symlinks resolved); unset: anywhere.
    files_root: Path | None = None
    # Google Sheets URLs must be https on one of these hosts.
    google_allowed_hosts: list[str] = Field(default_factory=lambda: ["docs.google.com"])

    queue_name: str = "ingest"
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: str = "INFO"

    dbt_project_dir: Path = PROJECT_ROOT / "dbt_project"
    dbt_profiles_dir: Path = PROJECT_ROOT
    local_state_dir: Path = Field(default_factory=default_state_dir)
    # Where each landing gets a fresh dlt working directory.
    work_dir: Path = Field(default_factory=lambda: default_state_dir() / "work")

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        return _check_no_placeholder(self)


PLACEHOLDER_SECRETS = ("change-me", "changeme")


def _check_no_placeholder(settings: Settings) -> Settings:
    for name in ("database_url", "redis_url"):
        value = getattr(settings, name) or ""
        if any(p in value for p in PLACEHOLDER_SECRETS):
            raise ValueError(f"{name.upper()} still has the placeholder password from .env.example")
    return settings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
