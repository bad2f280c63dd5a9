"""The serving schema's promises (migration 0004), checked on data the real pipeline landed."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from loader import migrate
from loader.config import Settings
from loader.db import DbParams
from loader.jobs import run_task
from loader.task import ParseTask
from tests.helpers import write_csv

HEADER = "Артикул;Наименование;Цена;Цвет"


@pytest.fixture
def db(fresh_database: str, tmp_path: Path) -> tuple[str, Settings]:
    migrate.upgrade(fresh_database)
    return fresh_database, Settings(database_url=fresh_database, local_state_dir=tmp_path / "st")


@pytest.fixture
def conn(db: tuple[str, Settings]) -> Iterator[psycopg.Connection]:
    with psycopg.connect(DbParams.from_url(db[0]).conninfo(), autocommit=True) as c:
        yield c


def _ingest(db: tuple[str, Settings], tmp: Path, task_id: str, supplier: str, rows: list[str]):  # type: ignore[no-untyped-def]
    url, settings = db
    path = write_csv(tmp / f"{task_id}.csv", [HEADER, *rows])
    task = ParseTask.parse(
        {
            "task_id": task_id,
            "supplier": {"code": supplier, "default_currency": "RUB"},
            "source": {"type": "csv", "path": str(path)},
        }
    )
    return run_task(task, url, settings)


def _count(conn: psycopg.Connection, query: str, *args: object) -> int:
    row = conn.execute(query, args).fetchone()
    assert row is not None
    return int(row[0])


ITEMS_OF = "select count(*) from marts.supplier_items where supplier_code = %s"
HISTORY_OF = "select count(*) from marts.price_history where supplier_code = %s"


def test_deleting_a_supplier_deletes_its_items_and_their_history_for_good(
    db: tuple[str, Settings], conn: psycopg.Connection, tmp_path: Path
) -> None:
    _ingest(db, tmp_path, "acme-1", "acme", ["A-1;Болт;10;red", "A-2;Гайка;5;"])
    _ingest(db, tmp_path, "acme-2", "acme", ["A-1;Болт;11;red", "A-2;Гайка;5;"])
    _ingest(db, tmp_path, "zeta-1", "zeta", ["Z-1;Шуруп;3;"])
    assert _count(conn, ITEMS_OF, "acme") == 2
    assert _count(conn, HISTORY_OF, "acme") == 3

    conn.execute("delete from marts.suppliers where supplier_code = 'acme'")

    assert _count(conn, ITEMS_OF, "acme") == 0
    assert _count(conn, HISTORY_OF, "acme") == 0
    assert _count(conn, ITEMS_OF, "zeta") == 1
    assert _count(conn, HISTORY_OF, "zeta") == 1

    # Another supplier's list runs dbt again: acme stays deleted.
    _ingest(db, tmp_path, "zeta-2", "zeta", ["Z-1;Шуруп;4;"])
    assert _count(conn, "select count(*) from marts.suppliers where supplier_code = 'acme'") == 0
    assert _count(conn, ITEMS_OF, "acme") == 0
    assert _count(conn, HISTORY_OF, "acme") == 0
    assert _count(conn, HISTORY_OF, "zeta") == 2

    # A new list from acme brings it back, with only the new list's history.
    _ingest(db, tmp_path, "acme-3", "acme", ["A-1;Болт;12;red"])
    rows = conn.execute(
        "select supplier_sku, price from marts.price_history where supplier_code = 'acme'"
    ).fetchall()
    assert rows == [("A-1", Decimal("12"))]


def test_supplier_and_sku_are_unique(
    db: tuple[str, Settings], conn: psycopg.Connection, tmp_path: Path
) -> None:
    _ingest(db, tmp_path, "u-1", "acme", ["A-1;Болт;10;"])
    with pytest.raises(psycopg.errors.UniqueViolation, match="supplier_id, supplier_sku"):
        conn.execute(
            "insert into marts.supplier_items (supplier_item_id, supplier_id, supplier_code,"
            " supplier_sku, name, price, first_seen_at, last_seen_at, last_task_id,"
            " last_submitted_at, source_parsed_at, characteristics)"
            " select 'other-id', supplier_id, 'acme-renamed', supplier_sku, name, price,"
            " first_seen_at, last_seen_at, last_task_id, last_submitted_at, source_parsed_at,"
            " characteristics from marts.supplier_items"
        )


def test_characteristics_must_be_a_json_object(
    db: tuple[str, Settings], conn: psycopg.Connection, tmp_path: Path
) -> None:
    _ingest(db, tmp_path, "c-1", "acme", ["A-1;Болт;10;red"])
    update = "update marts.supplier_items set characteristics = %s::jsonb"
    for value in ('{"color": "red", "weight_kg": 2.5}', "{}"):
        conn.execute(update, (value,))
    for value in ("[1, 2]", '"red"', "42", "null"):
        with pytest.raises(psycopg.errors.CheckViolation, match="characteristics"):
            conn.execute(update, (value,))
    with pytest.raises(psycopg.errors.NotNullViolation, match="characteristics"):
        conn.execute(update, (None,))
    assert conn.execute("select characteristics from marts.supplier_items").fetchone() == ({},)


def test_product_status_is_draft_active_or_archived(conn: psycopg.Connection) -> None:
    for status in ("draft", "active", "archived"):
        conn.execute("insert into marts.products (name, status) values (%s, %s)", (status, status))
    assert _count(conn, "select count(*) from marts.products") == 3
    default = conn.execute(
        "insert into marts.products (name) values ('new') returning status::text"
    ).fetchone()
    assert default == ("draft",)
    with pytest.raises(psycopg.errors.InvalidTextRepresentation, match="product_status"):
        conn.execute("insert into marts.products (name, status) values ('x', 'deleted')")


def test_deleting_a_product_unlinks_its_items_and_dbt_keeps_links(
    db: tuple[str, Settings], conn: psycopg.Connection, tmp_path: Path
) -> None:
    _ingest(db, tmp_path, "p-1", "acme", ["A-1;Болт;10;", "A-2;Гайка;5;"])
    product = conn.execute(
        "insert into marts.products (name, status) values ('Болт М8', 'active')"
        " returning product_id"
    ).fetchone()
    assert product is not None
    conn.execute(
        "update marts.supplier_items set product_id = %s where supplier_sku = 'A-1'", product
    )

    # A newer list changes the price: dbt's merge keeps the matching team's link.
    _ingest(db, tmp_path, "p-2", "acme", ["A-1;Болт;12;", "A-2;Гайка;5;"])
    linked = "select supplier_sku, price, product_id from marts.supplier_items order by 1"
    assert conn.execute(linked).fetchall() == [
        ("A-1", Decimal("12"), product[0]),
        ("A-2", Decimal("5"), None),
    ]

    conn.execute("delete from marts.products where product_id = %s", product)
    assert conn.execute(linked).fetchall() == [
        ("A-1", Decimal("12"), None),
        ("A-2", Decimal("5"), None),
    ]


def test_categories_form_a_tree(conn: psycopg.Connection) -> None:
    tools = conn.execute(
        "insert into marts.categories (name) values ('Инструмент') returning category_id"
    ).fetchone()
    drills = conn.execute(
        "insert into marts.categories (name, parent_id) values ('Дрели', %s) returning category_id",
        tools,
    ).fetchone()
    assert tools is not None and drills is not None
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute("insert into marts.categories (name, parent_id) values ('Дрели', %s)", tools)
    conn.execute("insert into marts.products (name, category_id) values ('Дрель', %s)", drills)

    conn.execute("delete from marts.categories where category_id = %s", tools)

    assert _count(conn, "select count(*) from marts.categories") == 0
    assert conn.execute("select name, category_id from marts.products").fetchall() == [
        ("Дрель", None)
    ]


def test_an_item_missing_from_the_latest_list_is_unavailable_until_it_returns(
    db: tuple[str, Settings], conn: psycopg.Connection, tmp_path: Path
) -> None:
    _ingest(db, tmp_path, "a-1", "acme", ["A-1;Болт;10;", "A-2;Гайка;5;"])
    _ingest(db, tmp_path, "a-2", "acme", ["A-1;Болт;10;"])
    availability = "select supplier_sku, price, is_available from marts.supplier_items order by 1"
    assert conn.execute(availability).fetchall() == [
        ("A-1", Decimal("10"), True),
        ("A-2", Decimal("5"), False),
    ]
    _ingest(db, tmp_path, "a-3", "acme", ["A-1;Болт;10;", "A-2;Гайка;6;"])
    assert conn.execute(availability).fetchall() == [
        ("A-1", Decimal("10"), True),
        ("A-2", Decimal("6"), True),
    ]
