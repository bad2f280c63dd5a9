"""price_history from the dbt snapshot: what a supplier charged and when, as analysts ask it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
import structlog

from loader import migrate
from loader.config import Settings
from loader.db import DbParams
from loader.jobs import run_task
from loader.landing import land
from loader.mapping import map_sheet
from loader.sources import get_source
from loader.task import ParseTask
from loader.transform import run_dbt, transform
from tests.helpers import write_csv

HEADER = "Артикул;Наименование;Цена"


@pytest.fixture
def db(fresh_database: str, tmp_path: Path) -> tuple[str, Settings]:
    migrate.upgrade(fresh_database)
    return fresh_database, Settings(database_url=fresh_database, local_state_dir=tmp_path / "st")


def _task(task_id: str, path: Path, supplier: str = "acme") -> ParseTask:
    return ParseTask.parse(
        {
            "task_id": task_id,
            "supplier": {"code": supplier, "default_currency": "RUB"},
            "source": {"type": "csv", "path": str(path)},
        }
    )


def _history(url: str, supplier: str = "acme") -> list[tuple[Any, ...]]:
    with psycopg.connect(DbParams.from_url(url).conninfo()) as conn:
        return conn.execute(
            "select supplier_sku, price, is_available, valid_from, valid_to"
            " from marts.price_history where supplier_code = %s"
            " order by supplier_sku, valid_from",
            (supplier,),
        ).fetchall()


def _received(url: str, task_id: str) -> Any:
    with psycopg.connect(DbParams.from_url(url).conninfo()) as conn:
        return conn.execute(
            "select received_at from raw.task_loads where task_id = %s order by received_at desc",
            (task_id,),
        ).fetchone()[0]


def _list(tmp_path: Path, name: str, rows: list[str]) -> Path:
    return write_csv(tmp_path / name, [HEADER, *rows])


def test_an_unchanged_list_again_adds_no_history(db: tuple[str, Settings], tmp_path: Path) -> None:
    url, settings = db
    path = _list(tmp_path, "a.csv", ["A-1;Болт;10", "A-2;Гайка;5"])
    run_task(_task("h-1", path), url, settings)
    first = _history(url)
    run_task(_task("h-2", path), url, settings)  # the same prices, a day later

    assert _history(url) == first
    received = _received(url, "h-1")
    assert [(sku, price, avail, frm, to) for sku, price, avail, frm, to in first] == [
        ("A-1", Decimal("10"), True, received, None),
        ("A-2", Decimal("5"), True, received, None),
    ]


def test_one_price_change_adds_exactly_one_row(db: tuple[str, Settings], tmp_path: Path) -> None:
    url, settings = db
    run_task(_task("c-1", _list(tmp_path, "a.csv", ["A-1;Болт;10", "A-2;Гайка;5"])), url, settings)
    run_task(_task("c-2", _list(tmp_path, "b.csv", ["A-1;Болт;12", "A-2;Гайка;5"])), url, settings)

    changed_at = _received(url, "c-2")
    history = _history(url)
    assert [(sku, price, to) for sku, price, _, _, to in history] == [
        ("A-1", Decimal("10"), changed_at),
        ("A-1", Decimal("12"), None),
        ("A-2", Decimal("5"), None),
    ]
    assert history[1][3] == changed_at  # valid from when the list was received


def test_three_lists_landed_before_one_transform_keep_every_price_in_order(
    db: tuple[str, Settings], tmp_path: Path
) -> None:
    url, settings = db
    loads = []
    for i, price in enumerate(["10", "11", "13"], start=1):
        task = _task(f"m-{i}", _list(tmp_path, f"{i}.csv", [f"A-1;Болт;{price}"]))
        sheets = [map_sheet(s) for s in get_source("csv").read(task.source)]
        loads.append((task, land(task, sheets, url, settings.work_dir)))

    last_task, last_landing = loads[-1]
    run = transform(url, last_landing.load_id, last_task.task_id, settings)  # one dbt run for all

    assert run.ran_dbt
    history = _history(url)
    assert [(price, to is None) for _, price, _, _, to in history] == [
        (Decimal("10"), False),
        (Decimal("11"), False),
        (Decimal("13"), True),
    ]
    assert [frm for *_, frm, _ in history] == [landing.received_at for _, landing in loads]


def test_an_item_removed_then_restored(db: tuple[str, Settings], tmp_path: Path) -> None:
    url, settings = db
    run_task(_task("r-1", _list(tmp_path, "a.csv", ["A-1;Болт;10", "A-2;Гайка;5"])), url, settings)
    run_task(_task("r-2", _list(tmp_path, "b.csv", ["A-1;Болт;10"])), url, settings)  # A-2 gone
    run_task(_task("r-3", _list(tmp_path, "c.csv", ["A-1;Болт;10", "A-2;Гайка;6"])), url, settings)

    gone, back = _received(url, "r-2"), _received(url, "r-3")
    assert [(sku, price, avail, to) for sku, price, avail, _, to in _history(url)] == [
        ("A-1", Decimal("10"), True, None),
        ("A-2", Decimal("5"), True, gone),
        ("A-2", Decimal("5"), False, back),
        ("A-2", Decimal("6"), True, None),
    ]


def test_a_list_submitted_earlier_but_processed_later_does_not_rewrite_history(
    db: tuple[str, Settings], tmp_path: Path
) -> None:
    url, settings = db
    older = _task("o-1", _list(tmp_path, "old.csv", ["A-1;Болт;9"]))  # submitted first
    newer = _task("o-2", _list(tmp_path, "new.csv", ["A-1;Болт;12"]))
    run_task(newer, url, settings)
    run_task(older, url, settings)  # a slow worker finishes the older list last

    assert [(price, to) for _, price, _, _, to in _history(url)] == [(Decimal("12"), None)]


def test_a_query_on_a_characteristic_uses_the_gin_index(
    db: tuple[str, Settings], tmp_path: Path
) -> None:
    url, settings = db
    path = write_csv(
        tmp_path / "colors.csv",
        ["Артикул;Наименование;Цена;Цвет", "C-1;Кружка;10;red", "C-2;Кружка;10;blue"],  # fmt: skip
    )
    run_task(_task("g-1", path), url, settings)
    with psycopg.connect(DbParams.from_url(url).conninfo()) as conn:
        conn.execute("set enable_seqscan = off")  # a tiny table would be scanned anyway
        plan = "\n".join(
            r[0]
            for r in conn.execute(
                "explain select supplier_sku from marts.supplier_items"
                ' where characteristics @> \'{"цвет": "red"}\''
            ).fetchall()
        )
        found = conn.execute(
            "select supplier_sku from marts.supplier_items"
            ' where characteristics @> \'{"цвет": "red"}\''
        ).fetchall()
    assert "Bitmap Index Scan on supplier_items_characteristics_idx" in plan, plan
    assert found == [("C-1",)]


def test_a_list_landed_after_a_newer_one_never_makes_a_period_end_before_it_begins(
    db: tuple[str, Settings], tmp_path: Path
) -> None:
    """Both wait for one transform; the older submission landed last (a retried task). Its
    prices are older news: it is skipped, and no period ends before it begins."""
    url, settings = db
    older = _task("late-1", _list(tmp_path, "old.csv", ["A-1;Болт;9"]))  # submitted first
    newer = _task("late-2", _list(tmp_path, "new.csv", ["A-1;Болт;12"]))
    newer_landing = land(newer, [map_sheet(s) for s in get_source("csv").read(newer.source)], url,
                         settings.work_dir)  # fmt: skip
    older_landing = land(older, [map_sheet(s) for s in get_source("csv").read(older.source)], url,
                         settings.work_dir)  # fmt: skip
    assert older_landing.received_at > newer_landing.received_at

    transform(url, older_landing.load_id, older.task_id, settings)

    assert [(price, frm, to) for _, price, _, frm, to in _history(url)] == [
        (Decimal("12"), newer_landing.received_at, None)
    ]


def test_a_newer_list_stamped_first_but_landed_last_still_begins_after_the_older_one(
    db: tuple[str, Settings], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers land a supplier's two lists at once. The newer list is stamped received
    first, but its landing completes only after the older list has entered the history, when
    nothing had overtaken it yet. The newer prices still win, and its periods begin just after
    the older list's: a period never ends before it begins (CI saw the database refuse this)."""
    url, settings = db
    older = _task("race-1", _list(tmp_path, "old.csv", ["A-1;Болт;9", "A-2;Гайка;5"]))
    newer = _task("race-2", _list(tmp_path, "new.csv", ["A-1;Болт;12"]))  # A-2 gone
    newer_began = dt.datetime.now(dt.UTC)  # its worker stamps the list, then is slow to land it
    assert run_task(older, url, settings).status == "success"
    clock = SimpleNamespace(UTC=dt.UTC, datetime=SimpleNamespace(now=lambda tz: newer_began))
    monkeypatch.setattr("loader.landing.dt", clock)

    with structlog.testing.capture_logs() as logs:
        assert run_task(newer, url, settings).status == "success"

    assert [e["received_at"] for e in logs if e["event"] == "history_stamp_moved"] == [
        newer_began.isoformat()
    ]
    older_received = _received(url, "race-1")
    assert _received(url, "race-2") == newer_began < older_received
    history = _history(url)
    assert [(sku, price, avail) for sku, price, avail, _, _ in history] == [
        ("A-1", Decimal("9"), True),
        ("A-1", Decimal("12"), True),
        ("A-2", Decimal("5"), True),
        ("A-2", Decimal("5"), False),
    ]
    newer_from = history[1][3]
    assert older_received < newer_from <= older_received + dt.timedelta(milliseconds=1)
    assert [(frm, to) for *_, frm, to in history] == [
        (older_received, newer_from),
        (newer_from, None),
        (older_received, newer_from),
        (newer_from, None),
    ]


def test_an_older_list_stamped_first_but_landed_after_the_newer_one_changes_nothing(
    db: tuple[str, Settings], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same race the other way round: the older list is stamped first and completes after
    the newer one entered the history. It is superseded; its time moves nothing."""
    url, settings = db
    older = _task("back-1", _list(tmp_path, "old.csv", ["A-1;Болт;9"]))
    newer = _task("back-2", _list(tmp_path, "new.csv", ["A-1;Болт;12"]))
    older_began = dt.datetime.now(dt.UTC)
    assert run_task(newer, url, settings).status == "success"
    history = _history(url)
    clock = SimpleNamespace(UTC=dt.UTC, datetime=SimpleNamespace(now=lambda tz: older_began))
    monkeypatch.setattr("loader.landing.dt", clock)

    with structlog.testing.capture_logs() as logs:
        assert run_task(older, url, settings).status == "success"

    assert [e for e in logs if e["event"] == "history_stamp_moved"] == []
    assert _history(url) == history == [("A-1", Decimal("12"), True, history[0][3], None)]


def test_a_list_changes_only_its_own_suppliers_history(
    db: tuple[str, Settings], tmp_path: Path
) -> None:
    """A list's snapshot reads and compares its supplier's items only; the other suppliers'
    periods are untouched, and a hand-run `dbt build` (every supplier) changes nothing."""
    url, settings = db
    run_task(
        _task("s-a1", _list(tmp_path, "a1.csv", ["A-1;Болт;10", "A-2;Гайка;5"])), url, settings
    )
    run_task(
        _task("s-b1", _list(tmp_path, "b1.csv", ["B-1;Шуруп;7"]), supplier="beta"), url, settings
    )
    beta = _history(url, "beta")
    run_task(_task("s-a2", _list(tmp_path, "a2.csv", ["A-1;Болт;11"])), url, settings)

    assert _history(url, "beta") == beta
    acme = _history(url)
    received = _received(url, "s-a2")
    assert [(sku, price, avail, to) for sku, price, avail, _, to in acme] == [
        ("A-1", Decimal("10"), True, received),
        ("A-1", Decimal("11"), True, None),
        ("A-2", Decimal("5"), True, received),
        ("A-2", Decimal("5"), False, None),  # missing from acme's newer list
    ]

    run_dbt(url, settings, ["build", "--select", "supplier_item_prices+"])
    assert (_history(url), _history(url, "beta")) == (acme, beta)


def test_waiting_lists_of_several_suppliers_share_a_snapshot_each_stamped_with_its_own_time(
    db: tuple[str, Settings], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under load many lists wait for the transform. One snapshot run takes the oldest waiting
    list of every supplier; a supplier's next list waits for the next run, so its periods stay
    in order. Every period, a deletion record too, begins when its own list was received."""
    url, settings = db
    run_task(
        _task("w-a1", _list(tmp_path, "a1.csv", ["A-1;Болт;10", "A-2;Гайка;5"])), url, settings
    )
    run_task(_task("w-b1", _list(tmp_path, "b1.csv", ["B-1;Шуруп;7"]), "beta"), url, settings)

    waiting = [  # landed while another worker held the transform lock
        _task("w-a2", _list(tmp_path, "a2.csv", ["A-1;Болт;11"])),  # A-2 gone
        _task("w-b2", _list(tmp_path, "b2.csv", ["B-1;Шуруп;8"]), "beta"),
        _task("w-a3", _list(tmp_path, "a3.csv", ["A-1;Болт;12", "A-2;Гайка;5"])),
    ]
    landings = {}
    for task in waiting:
        sheets = [map_sheet(s) for s in get_source("csv").read(task.source)]
        landings[task.task_id] = land(task, sheets, url, settings.work_dir)
    invocations: list[list[str]] = []

    def counted(database_url: str, settings: Settings, args: list[str], **kw: Any) -> Any:
        invocations.append(args)
        return run_dbt(database_url, settings, args, **kw)

    monkeypatch.setattr("loader.transform.run_dbt", counted)
    transform(url, landings["w-a3"].load_id, "w-a3", settings)

    # the build with the first wave (acme's and beta's second lists), then acme's third list
    assert len(invocations) == 2
    a1, b1 = _received(url, "w-a1"), _received(url, "w-b1")
    a2, b2, a3 = (landings[t].received_at for t in ("w-a2", "w-b2", "w-a3"))
    assert _history(url) == [
        ("A-1", Decimal("10"), True, a1, a2),
        ("A-1", Decimal("11"), True, a2, a3),
        ("A-1", Decimal("12"), True, a3, None),
        ("A-2", Decimal("5"), True, a1, a2),
        ("A-2", Decimal("5"), False, a2, a3),  # missing from a2: unavailable until a3
        ("A-2", Decimal("5"), True, a3, None),
    ]
    assert _history(url, "beta") == [
        ("B-1", Decimal("7"), True, b1, b2),
        ("B-1", Decimal("8"), True, b2, None),
    ]
