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


LANDING = {"price_rows", "task_loads", "_dlt_loads", "_dlt_version"}
MAPPING = {"supplier_mappings", "supplier_overrides", "mapping_changes", "task_results"}
HISTORY = {"history_loads"}


def test_up_down_up(fresh_database: str) -> None:
    assert migrate.current_revision(fresh_database) is None
    migrate.upgrade(fresh_database)
    assert migrate.current_revision(fresh_database) == "0003"
    assert _raw_tables(fresh_database) == LANDING | MAPPING | HISTORY

    migrate.downgrade(fresh_database, "0002")
    assert _raw_tables(fresh_database) == LANDING | MAPPING

    migrate.downgrade(fresh_database, "0001")
    assert migrate.current_revision(fresh_database) == "0001"
    assert _raw_tables(fresh_database) == LANDING

    migrate.downgrade(fresh_database, "base")
    assert migrate.current_revision(fresh_database) is None
    assert _raw_tables(fresh_database) == set()

    migrate.upgrade(fresh_database)
    assert migrate.current_revision(fresh_database) == "0003"
    assert _raw_tables(fresh_database) == LANDING | MAPPING | HISTORY


def test_dbt_builds_on_a_database_where_nothing_landed_yet(fresh_database: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """CI gates and the docs site run dbt before any price list arrives."""
    from loader.config import Settings
    from loader.transform import run_dbt

    migrate.upgrade(fresh_database)
    settings = Settings(database_url=fresh_database, local_state_dir=tmp_path)
    run_dbt(fresh_database, settings, ["build"])
    with psycopg.connect(DbParams.from_url(fresh_database).conninfo()) as conn:
        assert conn.execute("select count(*) from marts.supplier_items").fetchone() == (0,)
