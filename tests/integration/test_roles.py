"""Least privilege (migration 0005): what each role can and cannot do, on a database the real
worker code has written to as those roles."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from loader import defaults, migrate
from loader.config import Settings
from loader.db import connect
from loader.jobs import run_task
from loader.task import ParseTask
from tests.helpers import write_csv


@pytest.fixture(scope="module")
def landed(tmp_path_factory: pytest.TempPathFactory, admin_url: str) -> Iterator[str]:
    """A database where one list went through landing (loader role) and dbt (transform role)."""
    from loader.db import create_database, drop_database

    name = f"mb_test_roles_{uuid.uuid4().hex[:10]}"
    url = create_database(admin_url, name)
    migrate.upgrade(url)
    tmp = tmp_path_factory.mktemp("roles")
    path = write_csv(tmp / "list.csv", ["Артикул;Наименование;Цена", "A-1;Болт;10"])
    task = ParseTask.parse(
        {
            "task_id": "roles-1",
            "supplier": {"code": "acme", "default_currency": "RUB"},
            "source": {"type": "csv", "path": str(path)},
        }
    )
    result = run_task(task, url, Settings(database_url=url, local_state_dir=tmp / "st"))
    assert result.items_accepted == 1
    yield url
    drop_database(admin_url, name)


def _refused(url: str, role: str, statement: str) -> None:
    with (
        connect(url, autocommit=True, role=role) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute(statement)


def _owner(url: str, relation: str) -> str:
    with connect(url) as conn:
        row = conn.execute(
            "select pg_get_userbyid(relowner) from pg_class where oid = %s::regclass", (relation,)
        ).fetchone()
    assert row is not None
    return str(row[0])


def test_each_step_ran_as_its_role(landed: str) -> None:
    # dbt made these objects while acting as the transform role...
    assert _owner(landed, "marts.parsing_logs") == defaults.TRANSFORM_ROLE
    assert _owner(landed, "staging.int_price_rows__parsed") == defaults.TRANSFORM_ROLE
    # ...and the serving tables stay the migration role's.
    assert _owner(landed, "marts.supplier_items") not in (
        defaults.LOADER_ROLE,
        defaults.TRANSFORM_ROLE,
    )


@pytest.mark.parametrize(
    "statement",
    [
        "drop table marts.supplier_items",
        "alter table marts.supplier_items add column hacked int",
        "truncate marts.suppliers",
        "select * from marts.supplier_items",
        "delete from marts.suppliers",
        "drop table raw.price_rows",
        "update raw.history_loads set superseded = true",
        "select rolpassword from pg_authid",
        "create schema stolen",
    ],
)
def test_the_loader_role_writes_raw_and_nothing_else(landed: str, statement: str) -> None:
    _refused(landed, defaults.LOADER_ROLE, statement)


def test_landing_acts_as_the_loader_role(fresh_database: str, tmp_path: Path) -> None:
    """Take from the loader role the right to append rows: landing fails, so it used the role."""
    migrate.upgrade(fresh_database)
    with connect(fresh_database, autocommit=True) as conn:
        conn.execute(f"revoke insert on raw.price_rows from {defaults.LOADER_ROLE}")
    path = write_csv(tmp_path / "list.csv", ["Артикул;Наименование;Цена", "A-1;Болт;10"])
    task = ParseTask.parse(
        {
            "task_id": "roles-2",
            "supplier": {"code": "acme"},
            "source": {"type": "csv", "path": str(path)},
        }
    )
    settings = Settings(database_url=fresh_database, local_state_dir=tmp_path / "st")
    with pytest.raises(Exception, match="permission denied for table price_rows"):
        run_task(task, fresh_database, settings)


def test_the_loader_role_can_land(landed: str) -> None:
    with connect(landed, role=defaults.LOADER_ROLE) as conn:
        row = conn.execute("select count(*) from raw.price_rows").fetchone()
        conn.execute(
            "insert into raw.supplier_overrides (supplier_code, header, target)"
            " values ('x', 'Цена', 'price')"
        )
        conn.rollback()
    assert row == (1,)


@pytest.mark.parametrize(
    "statement",
    [
        "insert into marts.products (name) values ('x')",
        "update marts.supplier_items set price = 1",
        "delete from marts.parsing_logs",
        "drop view marts.price_history",
        "select * from raw.price_rows",
        "create table marts.mine (x int)",
    ],
)
def test_the_analyst_role_only_reads_the_marts(landed: str, statement: str) -> None:
    _refused(landed, defaults.ANALYST_ROLE, statement)


def test_the_analyst_role_reads_what_dbt_builds(landed: str) -> None:
    with connect(landed, role=defaults.ANALYST_ROLE) as conn:
        for relation in ("supplier_items", "price_history", "parsing_logs", "task_summaries"):
            assert conn.execute(f"select count(*) from marts.{relation}").fetchone() is not None
        assert conn.execute("select price from marts.supplier_items").fetchall() == [(10,)]


@pytest.mark.parametrize(
    "statement",
    [
        "drop table marts.supplier_items",
        "alter table marts.supplier_items drop constraint supplier_items_pkey",
        "drop table snapshots.supplier_item_prices",
        "insert into raw.price_rows select * from raw.price_rows",
    ],
)
def test_the_transform_role_fills_the_serving_tables_but_cannot_reshape_them(
    landed: str, statement: str
) -> None:
    _refused(landed, defaults.TRANSFORM_ROLE, statement)


def test_the_login_is_not_a_superuser(admin_url: str, base_settings: Settings) -> None:
    """make demo and the tests use the project-local login, which is no superuser."""
    if base_settings.database_url:
        pytest.skip("DATABASE_URL names a server of the caller's choosing")
    with connect(admin_url) as conn:
        assert conn.execute(
            "select rolsuper from pg_roles where rolname = current_user"
        ).fetchone() == (False,)


def test_downgrade_leaves_no_grants_behind(fresh_database: str) -> None:
    migrate.upgrade(fresh_database)
    migrate.downgrade(fresh_database, "0004")
    with connect(fresh_database) as conn:
        grants = conn.execute(
            "select count(*) from information_schema.role_table_grants where grantee = any(%s)",
            ([defaults.LOADER_ROLE, defaults.TRANSFORM_ROLE, defaults.ANALYST_ROLE],),
        ).fetchone()
    assert grants == (0,)
    migrate.upgrade(fresh_database)
    assert migrate.current_revision(fresh_database) == "0009"
