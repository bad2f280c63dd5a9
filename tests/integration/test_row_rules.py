"""Row rules end to end: each rule's code, severity and row number in parsing_logs, partial
success, warnings against the previous price, hostile cells, and the dbt gates CI relies on."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from loader import migrate
from loader.config import Settings
from loader.db import DbParams
from loader.exceptions import SourceNotFoundError, TransformError
from loader.jobs import read_and_map, run_task
from loader.landing import land
from loader.sources import file_source_type
from loader.task import ParseTask
from loader.transform import run_dbt
from tests.conftest import Stack
from tests.helpers import REAL, supplier_items_of, write_csv

ROOT = Path(__file__).resolve().parents[2]
HEADER = "Артикул;Наименование;Цена;Валюта"


def _task(task_id: str, supplier: str, path: Path) -> ParseTask:
    return ParseTask.parse(
        {
            "task_id": task_id,
            "supplier": {"code": supplier, "default_currency": "RUB"},
            "source": {"type": file_source_type(path.name), "path": str(path)},
        }
    )


def _logs(conn: psycopg.Connection, task_id: str) -> list[tuple[Any, ...]]:
    return conn.execute(
        "select row_number, rule_code, severity, column_key, raw_value from marts.parsing_logs"
        " where task_id = %s order by row_number, rule_code",
        (task_id,),
    ).fetchall()


def test_every_rule_logs_its_code_severity_column_and_row(stack: Stack, tmp_path: Path) -> None:
    supplier = f"rules-{stack.run_id}"
    long_name = "Очень длинное название " * 50  # 1,150 characters
    path = write_csv(
        tmp_path / "rules.csv",
        [
            HEADER,
            "A-1;Хороший товар;100;RUB",
            "A-2;;100;RUB",
            ";Без кода;100;RUB",
            "A-4;Без цены;;RUB",
            "A-5;Цена по запросу;по запросу;RUB",
            "A-6;Отрицательная цена;-5;RUB",
            "A-7;Странная валюта;100;XYZ",
            f"A-8;{long_name};100;RUB",
            "A-1;Тот же код ещё раз;120;RUB",
            'A-9;"=HYPERLINK(""http://evil.example"";""клик"")";50;RUB',
        ],
    )
    task = _task(stack.task_id("rules"), supplier, path)

    result = run_task(task, stack.database_url, stack.settings)

    assert (result.status, result.rows_landed, result.items_accepted) == ("partial_success", 10, 2)
    assert (result.rows_rejected, result.rows_warned) == (8, 1)
    with stack.connect() as conn:
        assert _logs(conn, task.task_id) == [
            (3, "missing_name", "error", "Наименование", None),
            (4, "missing_sku", "error", "Артикул", None),
            (5, "missing_price", "error", "Цена", None),
            (6, "price_unparseable", "error", "Цена", "по запросу"),
            (7, "price_not_positive", "error", "Цена", "-5"),
            (8, "unknown_currency", "error", "Валюта", "XYZ"),
            (9, "value_too_long", "error", "Наименование", long_name.strip()[:200]),
            (10, "duplicate_sku", "error", "Артикул", "A-1"),
            (
                11,
                "formula_text",
                "warn",
                "Наименование",
                '=HYPERLINK("http://evil.example";"клик")',
            ),
        ]
    items = supplier_items_of(stack, supplier)
    assert [(sku, name, price) for sku, name, price, _, _ in items] == [
        ("A-1", "Хороший товар", Decimal("100")),  # the first A-1 wins; the second is logged
        ("A-9", '=HYPERLINK("http://evil.example";"клик")', Decimal("50")),  # text, not a link
    ]
    assert result.top_reasons[0].severity == "error"
    assert result.warned_by_rule == {"formula_text": 1}

    # The next list: A-1 is now x100 (a misplaced decimal mark), A-9 switched currency.
    second = write_csv(
        tmp_path / "next.csv", [HEADER, "A-1;Хороший товар;10 000;RUB", "A-9;Ссылка;0,5;USD"]
    )
    later = run_task(_task(stack.task_id("rules-2"), supplier, second), stack.database_url,
                     stack.settings)  # fmt: skip
    assert (later.status, later.items_accepted, later.rows_warned) == ("success", 2, 2)
    with stack.connect() as conn:
        logged = conn.execute(
            "select row_number, rule_code, severity, message from marts.parsing_logs"
            " where task_id = %s order by row_number, rule_code",
            (later.task_id,),
        ).fetchall()
    assert logged == [
        (2, "price_jump", "warn", "price 10000 is x100 above the previous price 100"),
        (3, "currency_changed", "warn", "currency changed from RUB to USD"),
        (3, "price_jump", "warn", "price 0.5 is x100 below the previous price 50"),
    ]
    assert [i[2] for i in supplier_items_of(stack, supplier)] == [Decimal("10000"), Decimal("0.5")]


def test_row_50_failing_does_not_stop_the_others(stack: Stack, tmp_path: Path) -> None:
    supplier = f"row50-{stack.run_id}"
    lines = [HEADER] + [f"P-{i:03d};Товар {i};{i}0,50;RUB" for i in range(1, 101)]
    lines[50] = "P-050;Товар 50;#ЗНАЧЕН!;RUB"  # data row 50 is sheet row 51
    task = _task(stack.task_id("row50"), supplier, write_csv(tmp_path / "l.csv", lines))

    result = run_task(task, stack.database_url, stack.settings)
    again = run_task(task, stack.database_url, stack.settings)  # a retry logs nothing twice

    assert (result.status, result.items_accepted, result.rows_rejected) == (
        "partial_success",
        99,
        1,
    )
    # a retry lands again (its own load id) and counts and logs the same
    same = {"duration_s", "load_id"}
    assert again.model_dump(exclude=same) == result.model_dump(exclude=same)
    assert result.top_reasons[0].rule_code == "price_unparseable"
    assert "row 51, column Цена, value '#ЗНАЧЕН!'" in result.top_reasons[0].example
    with stack.connect() as conn:
        assert _logs(conn, task.task_id) == [(51, "price_unparseable", "error", "Цена", "#ЗНАЧЕН!")]
    skus = [sku for sku, *_ in supplier_items_of(stack, supplier)]
    assert len(skus) == 99 and "P-049" in skus and "P-051" in skus and "P-050" not in skus


def test_loader_task_shows_the_result_and_its_top_errors(
    stack: Stack, tmp_path: Path, run: Any
) -> None:
    lines = [HEADER, "T-1;Болт;10;RUB", "T-2;Гайка;по запросу;RUB", "T-3;Шайба;по запросу;RUB"]
    task = _task(
        stack.task_id("view"), f"view-{stack.run_id}", write_csv(tmp_path / "v.csv", lines)
    )
    run_task(task, stack.database_url, stack.settings)

    shown = run("task", task.task_id)

    assert f"task {task.task_id}" in shown.output and "partial_success" in shown.output
    assert "3: 1 accepted (0 with warnings), 2 rejected" in shown.output
    assert "price_unparseable" in shown.output and "2 rows" in shown.output
    assert "row 3, column Цена, value 'по запросу'" in shown.output
    gone = _task(stack.task_id("view-gone"), f"view-{stack.run_id}", tmp_path / "gone.csv")
    with pytest.raises(SourceNotFoundError):
        run_task(gone, stack.database_url, stack.settings)
    failed = run("task", gone.task_id)
    assert "failed" in failed.output and "source_not_found" in failed.output
    missing = run("task", "no-such-task")
    assert missing.exit_code == 1 and "no task 'no-such-task'" in missing.output


def test_hostile_cells_are_stored_as_data_or_rejected(stack: Stack, tmp_path: Path) -> None:
    supplier = f"hostile-{stack.run_id}"
    megabyte = "Б" * 1_000_000
    path = write_csv(
        tmp_path / "hostile.csv",
        [
            'Артикул;Наименование;Цена;"\'; drop table raw.price_rows; --"',
            'H-1;"\'); delete from marts.supplier_items; --";10;x',
            "H-2;Кабель 🔌⚡ Cáblé 電纜;20;\x07bell\x1b[31m",
            f"H-3;{megabyte};30;",
            f"H-4;Описание огромное;40;{megabyte}",
            'H-5;"=HYPERLINK(""http://x"",""y"")";50;=1+1',
        ],
    )
    result = run_task(_task(stack.task_id("hostile"), supplier, path), stack.database_url,
                      stack.settings)  # fmt: skip

    assert result.rejected_by_rule == {"value_too_long": 1}
    assert (result.rows_landed, result.items_accepted, result.rows_rejected) == (5, 4, 1)
    items = {sku: (name, chars) for sku, name, _, _, chars in supplier_items_of(stack, supplier)}
    assert items["H-1"][0] == "'); delete from marts.supplier_items; --"
    assert items["H-1"][1] == {"drop_table_raw_price_rows": "x"}
    assert items["H-2"] == (
        "Кабель 🔌⚡ Cáblé 電纜",
        {"drop_table_raw_price_rows": "\x07bell\x1b[31m"},
    )
    assert len(items["H-4"][1]["drop_table_raw_price_rows"]) == 1_000_000
    assert items["H-5"][1] == {"drop_table_raw_price_rows": "=1+1"}
    with stack.connect() as conn:  # nothing was executed
        assert conn.execute("select count(*) from raw.price_rows").fetchone()[0] > 0


def _bundled_lists() -> list[Path]:
    samples = [p for p in (ROOT / "samples").iterdir() if file_source_type(p.name)]
    hard = [p for p in (ROOT / "samples" / "hard").iterdir() if file_source_type(p.name)]
    real = [p for p in REAL.iterdir() if file_source_type(p.name)]
    return sorted(samples + hard + real)


def test_dbt_gates_pass_on_every_bundled_list_and_catch_a_corrupted_catalogue(
    fresh_database: str, tmp_path: Path
) -> None:
    """The CI gate: dbt build on the fixture lists, every data-quality test at severity error.
    The lists are landed as a worker lands them, then one `dbt build` (unit tests, snapshot and
    all) processes them together, as in CI."""
    migrate.upgrade(fresh_database)
    settings = Settings(database_url=fresh_database, local_state_dir=tmp_path)
    lists = _bundled_lists()
    for i, path in enumerate(lists):
        mapped, _ = read_and_map(_task(f"gate-{i}", f"gate-{i}", path))
        assert not any(m.mapping.needs_review for m in mapped), path.name
        land(_task(f"gate-{i}", f"gate-{i}", path), mapped, fresh_database, settings.work_dir)

    run_dbt(fresh_database, settings, ["build"])  # raises on any failing error-severity test

    with psycopg.connect(DbParams.from_url(fresh_database).conninfo(), autocommit=True) as conn:
        unbalanced = conn.execute(
            "select task_id from marts.task_summaries"
            " where rows_landed <> items_accepted + rows_rejected + rows_skipped"
        ).fetchall()
        assert unbalanced == []
        accepted = conn.execute(
            "select count(*) from marts.task_summaries where items_accepted > 0"
        ).fetchone()[0]
        assert accepted == len(lists)  # every list gave items
        assert conn.execute("select count(*) from marts.price_history").fetchone()[0] > 0
        one_item = "(select min(supplier_item_id) from marts.supplier_items)"
        # The database itself refuses some corruption...
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(
                f"update marts.supplier_items set price = -1 where supplier_item_id = {one_item}"
            )
        # ...the dbt gates catch the rest: an item whose values came from a rejected row.
        conn.execute(
            "update marts.supplier_items as items"
            " set last_task_id = rejected.task_id, last_sheet = rejected.sheet,"
            " last_row_number = rejected.row_number"
            " from (select task_id, sheet, row_number from staging.int_price_rows__parsed"
            " where outcome = 'rejected' limit 1) as rejected"
            f" where items.supplier_item_id = {one_item}"
        )
    with pytest.raises(TransformError, match="no_rejected_row_in_supplier_items"):
        run_dbt(fresh_database, settings, ["test"])
