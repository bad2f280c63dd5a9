"""Settings, read once from the environment (and `.env`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # Unset means: start (or reuse) the project-local PostgreSQL/Redis under `.local/`.
    database_url: str | None = Field(default=None)
    redis_url: str | None = Field(default=None)
    google_application_credentials: Path | None = None

    queue_name: str = "ingest"
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: str = "INFO"

    dbt_project_dir: Path = PROJECT_ROOT / "dbt_project"
    dbt_profiles_dir: Path = PROJECT_ROOT
    local_state_dir: Path = PROJECT_ROOT / ".local"
    # Where each landing gets a fresh dlt working directory.
    work_dir: Path = PROJECT_ROOT / ".local" / "work"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
