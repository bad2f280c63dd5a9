"""Schema migrations with alembic (migrations/), driven by DATABASE_URL."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from loader.config import PROJECT_ROOT
from loader.db import DbParams


def _config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    cfg.attributes["sqlalchemy_url"] = DbParams.from_url(database_url).sqlalchemy_url()
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(_config(database_url), revision)


def downgrade(database_url: str, revision: str = "-1") -> None:
    command.downgrade(_config(database_url), revision)


def current_revision(database_url: str) -> str | None:
    engine = create_engine(DbParams.from_url(database_url).sqlalchemy_url())
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
