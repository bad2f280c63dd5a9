"""Migrations go up, down and up again cleanly."""

from __future__ import annotations

from decimal import Decimal

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


def _constraints(url: str, table: str) -> set[str]:
    with psycopg.connect(DbParams.from_url(url).conninfo()) as conn:
        rows = conn.execute(
            "select conname from pg_constraint where conrelid = %s::regclass", (table,)
        ).fetchall()
    return {name for (name,) in rows}


LANDING = {"price_rows", "task_loads", "_dlt_loads", "_dlt_version"}
MAPPING = {"supplier_mappings", "supplier_overrides", "mapping_changes", "task_results"}
HISTORY = {"history_loads"}
SERVING = {"suppliers", "categories", "products", "supplier_items", "load_watermarks"}


def test_up_down_up(fresh_database: str) -> None:
    assert migrate.current_revision(fresh_database) is None
    migrate.upgrade(fresh_database)
    assert migrate.current_revision(fresh_database) == "0009"
    assert _tables(fresh_database) == LANDING | MAPPING | HISTORY
    assert _tables(fresh_database, "marts") == SERVING
    assert _tables(fresh_database, "snapshots") == {"supplier_item_prices"}
    assert _roles_used(fresh_database) > 0
    assert {"supplier_item_prices_period_key", "supplier_item_prices_period_check"} <= (
        _constraints(fresh_database, "snapshots.supplier_item_prices")
    )

    migrate.downgrade(fresh_database, "0005")
    assert _constraints(fresh_database, "snapshots.supplier_item_prices") == {
        "supplier_item_prices_pkey", "supplier_item_prices_supplier_item_id_fkey"
    }  # fmt: skip
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
    assert migrate.current_revision(fresh_database) == "0009"
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


def test_a_catalogue_dbt_built_before_0004_is_kept(fresh_database: str) -> None:
    """A database where dbt made supplier_items and the snapshot itself (before 0004 existed):
    the upgrade moves their rows into the migration-owned tables; nothing is lost."""
    migrate.upgrade(fresh_database, "0003")
    with psycopg.connect(DbParams.from_url(fresh_database).conninfo(), autocommit=True) as conn:
        conn.execute("create schema marts")
        conn.execute("create schema snapshots")
        conn.execute(
            "create table marts.supplier_items as select"
            " md5('acme|A-1') as supplier_item_id, 'acme'::text as supplier_code,"
            " 'A-1'::text as supplier_sku, 'Болт'::text as name, 'RUB'::text as currency,"
            ' 12.5::numeric as price, \'{"color": "red"}\'::jsonb as characteristics,'
            " now() - interval '2 days' as first_seen_at, now() as last_seen_at,"
            " 't-2'::text as last_task_id, 'S'::text as last_sheet, 5::bigint as last_row_number,"
            " now() as last_submitted_at, now() as source_parsed_at"
        )
        conn.execute("create unique index on marts.supplier_items (supplier_code, supplier_sku)")
        conn.execute("create table marts.task_summaries as select 't-2'::text as task_id")
        conn.execute(
            "create table snapshots.supplier_item_prices as select"
            " 'acme'::text as supplier_code, 'A-1'::text as supplier_sku, p::numeric as price,"
            " 'RUB'::text as currency, 'Болт'::text as item_name, t::text as task_id,"
            " l::text as load_id, md5(t) as dbt_scd_id, v::timestamp as dbt_updated_at,"
            " v::timestamp as dbt_valid_from, nullif(v2, null)::timestamp as dbt_valid_to,"
            " null::text as dbt_is_deleted"
            " from (values (10, 't-1', 'l1', '2026-01-01', '2026-02-01'),"
            " (12.5, 't-2', 'l2', '2026-02-01', null)) as h(p, t, l, v, v2)"
        )

    migrate.upgrade(fresh_database)

    with psycopg.connect(DbParams.from_url(fresh_database).conninfo()) as conn:
        items = conn.execute(
            "select s.supplier_code, i.supplier_sku, i.price, i.characteristics"
            " from marts.supplier_items i join marts.suppliers s using (supplier_id)"
        ).fetchall()
        history = conn.execute(
            "select supplier_item_id, price from snapshots.supplier_item_prices order by price"
        ).fetchall()
        leftovers = conn.execute(
            "select count(*) from pg_class where relname like '%before_0004%'"
        ).fetchone()
        dbt_table_owner = conn.execute(
            "select pg_get_userbyid(relowner) from pg_class"
            " where oid = 'marts.task_summaries'::regclass"
        ).fetchone()
    assert items == [("acme", "A-1", Decimal("12.5"), {"color": "red"})]
    item_id = history[0][0]
    assert history == [(item_id, Decimal("10")), (item_id, Decimal("12.5"))]
    assert leftovers == (0,)
    # dbt's own tables are handed to the transform role, which dbt now runs as (0005).
    assert dbt_table_owner == ("marketbel_transform",)
