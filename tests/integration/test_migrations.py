"""Migrations go up, down and up again cleanly."""

from __future__ import annotations

import psycopg

from loader import migrate
from loader.db import DbParams


def _tables(url: str, schema: str = "raw") -> set[str]:
    with psycopg.connect(DbParams.from_url(url).conninfo()) as conn:
        rows = conn.execute(
            "select table_name from information_schema.tables where table_schema = %s", (schema,)
        ).fetchall()
    return {r[0] for r in rows}


def _roles_used(url: str) -> int:
    with psycopg.connect(DbParams.from_url(url).conninfo()) as conn:
        row = conn.execute(
            "select count(*) from information_schema.role_table_grants"
            " where grantee like 'marketbel\\_%'"
        ).fetchone()
    assert row is not None
    return int(row[0])


LANDING = {"price_rows", "task_loads", "_dlt_loads", "_dlt_version"}
MAPPING = {"supplier_mappings", "supplier_overrides", "mapping_changes", "task_results"}
HISTORY = {"history_loads"}
SERVING = {"suppliers", "categories", "products", "supplier_items", "load_watermarks"}


def test_up_down_up(fresh_database: str) -> None:
    assert migrate.current_revision(fresh_database) is None
    migrate.upgrade(fresh_database)
    assert migrate.current_revision(fresh_database) == "0005"
    assert _tables(fresh_database) == LANDING | MAPPING | HISTORY
    assert _tables(fresh_database, "marts") == SERVING
    assert _tables(fresh_database, "snapshots") == {"supplier_item_prices"}
    assert _roles_used(fresh_database) > 0

    migrate.downgrade(fresh_database, "0004")
    assert _roles_used(fresh_database) == 0
    migrate.downgrade(fresh_database, "0003")
    assert _tables(fresh_database, "marts") == set()

    migrate.downgrade(fresh_database, "0002")
    assert _tables(fresh_database) == LANDING | MAPPING

    migrate.downgrade(fresh_database, "0001")
    assert migrate.current_revision(fresh_database) == "0001"
    assert _tables(fresh_database) == LANDING

    migrate.downgrade(fresh_database, "base")
    assert migrate.current_revision(fresh_database) is None
    assert _tables(fresh_database) == set()

    migrate.upgrade(fresh_database)
    assert migrate.current_revision(fresh_database) == "0005"
    assert _tables(fresh_database) == LANDING | MAPPING | HISTORY
    assert _tables(fresh_database, "marts") == SERVING


def test_dbt_builds_on_a_database_where_nothing_landed_yet(fresh_database: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """CI gates and the docs site run dbt before any price list arrives."""
    from loader.config import Settings
    from loader.transform import run_dbt

    migrate.upgrade(fresh_database)
    settings = Settings(database_url=fresh_database, local_state_dir=tmp_path)
    run_dbt(fresh_database, settings, ["build"])
    with psycopg.connect(DbParams.from_url(fresh_database).conninfo()) as conn:
        assert conn.execute("select count(*) from marts.supplier_items").fetchone() == (0,)
