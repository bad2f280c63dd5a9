"""Migrations go up, down and up again cleanly."""

from __future__ import annotations

import psycopg

from loader import migrate
from loader.db import DbParams


def _raw_tables(url: str) -> set[str]:
    with psycopg.connect(DbParams.from_url(url).conninfo()) as conn:
        rows = conn.execute(
            "select table_name from information_schema.tables where table_schema = 'raw'"
        ).fetchall()
    return {r[0] for r in rows}


def test_up_down_up(fresh_database: str) -> None:
    assert migrate.current_revision(fresh_database) is None
    migrate.upgrade(fresh_database)
    assert migrate.current_revision(fresh_database) == "0001"
    assert _raw_tables(fresh_database) == {"price_rows", "task_loads"}

    migrate.downgrade(fresh_database, "base")
    assert migrate.current_revision(fresh_database) is None
    assert _raw_tables(fresh_database) == set()

    migrate.upgrade(fresh_database)
    assert migrate.current_revision(fresh_database) == "0001"
    assert _raw_tables(fresh_database) == {"price_rows", "task_loads"}
