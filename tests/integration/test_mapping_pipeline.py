"""Mapping decisions end to end: supplier memory across uploads, needs_review, saved overrides,
derived keys, and a preview that writes nothing."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from loader import queue as task_queue
from loader.jobs import run_task
from loader.result import TaskResult
from loader.task import ParseTask
from tests.conftest import Stack
from tests.helpers import supplier_items_of, write_csv


def _task(stack: Stack, name: str, supplier: str, path: Path, **extra: Any) -> ParseTask:
    return ParseTask.parse(
        {
            "task_id": stack.task_id(name),
            "supplier": {"code": supplier, "default_currency": "RUB"},
            "source": {"type": "csv", "path": str(path)},
            **extra,
        }
    )


def _one(stack: Stack, query: str, *params: object) -> Any:
    with stack.connect() as conn:
        return conn.execute(query, params).fetchall()


def test_memory_carries_a_mapping_across_uploads_with_moved_and_added_columns(
    stack: Stack, tmp_path: Path
) -> None:
    supplier = f"mem-{stack.run_id}"
    first = write_csv(
        tmp_path / "v1.csv",
        ["Поз.;Инфо;Сумма", "Z-1;Саморез 3,5х35;1 234,56", "Z-2;Дюбель 6х40;5,10"],
    )
    overrides = {"Поз.": "supplier_sku", "Инфо": "name", "Сумма": "price"}
    r1 = run_task(
        _task(stack, "mem-1", supplier, first, column_overrides=overrides),
        stack.database_url,
        stack.settings,
    )
    assert r1.status == "success"

    # Next month: price moved to the front, a stock column added, no overrides given.
    second = write_csv(
        tmp_path / "v2.csv",
        ["Сумма;Поз.;Остаток;Инфо", "1 300,00;Z-1;12;Саморез 3,5х35", "5,20;Z-2;0;Дюбель 6х40"],
    )
    r2 = run_task(_task(stack, "mem-2", supplier, second), stack.database_url, stack.settings)

    assert r2.status == "success"
    assert r2.sheets[0].mapping == {
        "supplier_sku": "Поз.",
        "name": "Инфо",
        "price": "Сумма",
        "currency": None,
    }
    items = supplier_items_of(stack, supplier)
    assert [(sku, name, price) for sku, name, price, _, _ in items] == [
        ("Z-1", "Саморез 3,5х35", Decimal("1300.00")),
        ("Z-2", "Дюбель 6х40", Decimal("5.20")),
    ]
    changes = _one(
        stack,
        "select kind, detail from raw.mapping_changes where task_id = %s order by kind, detail",
        stack.task_id("mem-2"),
    )
    assert changes == [
        ("column_added", "Остаток"),
        ("column_moved", "Инфо: B -> D"),
        ("column_moved", "Поз.: A -> B"),
        ("column_moved", "Сумма: C -> A"),
    ]
    # A retry of the same task records nothing twice.
    run_task(_task(stack, "mem-2", supplier, second), stack.database_url, stack.settings)
    again = _one(stack, "select count(*) from raw.mapping_changes where task_id = %s",
                 stack.task_id("mem-2"))  # fmt: skip
    assert again == [(4,)]


def test_needs_review_lands_nothing_until_a_person_decides(
    stack: Stack, tmp_path: Path, run: Any
) -> None:
    supplier = f"review-{stack.run_id}"
    path = write_csv(
        tmp_path / "unclear.csv",
        [
            "Артикул;Наименование;Колонка 1;Колонка 2",
            "R-1;Кран шаровой 1/2;410,00;455,00",
            "R-2;Кран шаровой 3/4;520,00;575,00",
            "R-3;Кран шаровой 1;790,00;860,00",
        ],
    )
    task = _task(stack, "review-1", supplier, path)
    queue = task_queue.get_queue(task_queue.connect(stack.redis_url), stack.settings.queue_name)
    job = task_queue.enqueue(task, queue).job
    stack.run_worker_burst()

    result = TaskResult.model_validate(task_queue.wait(job, timeout_s=5))

    assert result.status == "needs_review"
    assert result.message is not None
    assert "price" in result.message and "'Колонка 1'" in result.message
    assert "'Колонка 2'" in result.message
    assert supplier_items_of(stack, supplier) == []
    landed = _one(stack, "select count(*) from raw.price_rows where task_id = %s", task.task_id)
    assert landed == [(0,)]
    stored = _one(stack, "select status, result ->> 'message' from raw.task_results"
                  " where task_id = %s", task.task_id)  # fmt: skip
    assert stored == [("needs_review", result.message)]

    # The operator decides once for this supplier; the same task then goes through.
    saved = run(
        "mapping", "set", supplier, "Колонка 2=price", "Колонка 1=characteristic:price_wholesale"
    )
    assert saved.exit_code == 0, saved.output
    requeued = task_queue.enqueue(task, queue)  # a task waiting for review may run again
    assert requeued.created
    stack.run_worker_burst()
    again = TaskResult.model_validate(task_queue.wait(requeued.job, timeout_s=5))

    assert again.status == "success"
    items = supplier_items_of(stack, supplier)
    assert [(sku, price, chars) for sku, _, price, _, chars in items] == [
        ("R-1", Decimal("455.00"), {"price_wholesale": 410}),
        ("R-2", Decimal("575.00"), {"price_wholesale": 520}),
        ("R-3", Decimal("860.00"), {"price_wholesale": 790}),
    ]
    stored = _one(stack, "select status from raw.task_results where task_id = %s", task.task_id)
    assert stored == [("success",)]
    shown = run("mapping", "show", supplier)
    assert "Колонка 2" in shown.output and "price" in shown.output


def test_a_task_override_wins_over_the_suppliers_saved_one(
    stack: Stack, tmp_path: Path, run: Any
) -> None:
    supplier = f"prec-{stack.run_id}"
    path = write_csv(
        tmp_path / "two.csv", ["Код;Товар;Цена опт;Цена розн", "P-1;Смеситель;1000;1200"]
    )
    assert run("mapping", "set", supplier, "Цена розн=price").exit_code == 0
    saved_wins = run_task(_task(stack, "prec-1", supplier, path), stack.database_url,
                          stack.settings)  # fmt: skip
    assert saved_wins.sheets[0].mapping["price"] == "Цена розн"

    task_wins = run_task(
        _task(stack, "prec-2", supplier, path, column_overrides={"Цена опт": "price"}),
        stack.database_url,
        stack.settings,
    )
    assert task_wins.sheets[0].mapping["price"] == "Цена опт"
    assert [i[2] for i in supplier_items_of(stack, supplier)] == [Decimal("1000")]


def test_items_without_codes_keep_their_keys_when_rows_move(stack: Stack, tmp_path: Path) -> None:
    supplier = f"nosku-{stack.run_id}"
    lines = [
        "Товар;Бренд;Объем;Цена, ₽",
        "Краска интерьерная белая;Dulux;2,5 л;1 890",
        "Краска интерьерная белая;Dulux;10 л;6 490",
        "Краска интерьерная белая;Tikkurila;2,7 л;2 150",
    ]
    first = write_csv(tmp_path / "a.csv", lines)
    r1 = run_task(_task(stack, "nosku-1", supplier, first), stack.database_url, stack.settings)
    assert (r1.status, r1.items_accepted) == ("success", 3)  # same name, three items
    keys = {(c["brand"], c["объем"]): sku for sku, _, _, _, c in supplier_items_of(stack, supplier)}

    # Rows reordered, the volume column moved, a new item added: the old keys stay.
    moved = ["Объем;Товар;Бренд;Цена, ₽", "10 л;Краска интерьерная белая;Dulux;6 590",
             "5 л;Грунт;Ceresit;990", "2,5 л;Краска интерьерная белая;Dulux;1 990",
             "2,7 л;Краска интерьерная белая;Tikkurila;2 250"]  # fmt: skip
    second = write_csv(tmp_path / "b.csv", moved)
    r2 = run_task(_task(stack, "nosku-2", supplier, second), stack.database_url, stack.settings)
    assert (r2.status, r2.items_accepted) == ("success", 4)
    after = {
        (c["brand"], c["объем"]): sku for sku, _, _, _, c in supplier_items_of(stack, supplier)
    }
    assert {k: after[k] for k in keys} == keys
    assert all(sku.startswith("~") for sku in after.values())


def test_preview_shows_the_decision_and_writes_nothing(
    stack: Stack, tmp_path: Path, run: Any
) -> None:
    path = write_csv(
        tmp_path / "p.csv",
        ["ООО Ромашка", "", "Артикул;Наименование;Цена, руб.", "A-1;Гвоздь;1,50"],
    )

    def counts() -> Any:
        return _one(
            stack,
            "select (select count(*) from raw.price_rows), (select count(*) from"
            " raw.supplier_mappings), (select count(*) from raw.task_results)",
        )

    before = counts()
    shown = run("preview", str(path), "--supplier", f"prev-{stack.run_id}", "--json")
    assert shown.exit_code == 0, shown.output
    decision = json.loads(shown.output)
    assert decision["header_row"] == 2
    assert decision["fields"] == {"supplier_sku": 0, "name": 1, "price": 2}
    assert decision["currency"] == "RUB"
    assert [(c["index"], c["header"], c["field"], c["score"], c["reason"])
            for c in decision["columns"]] == [
        (0, "Артикул", "supplier_sku", 100.0, "exact"),
        (1, "Наименование", "name", 100.0, "exact"),
        (2, "Цена, руб.", "price", 100.0, "exact"),
    ]  # fmt: skip
    table = run("preview", str(path))
    assert "Цена, руб." in table.output and "price" in table.output
    assert counts() == before


def test_merged_section_rows_become_categories_of_the_items_below(stack: Stack) -> None:
    supplier = f"sections-{stack.run_id}"
    path = (
        Path(__file__).resolve().parents[2] / "samples" / "hard" / "title_rows_merged_sections.xlsx"
    )
    task = ParseTask.parse(
        {
            "task_id": stack.task_id("sections"),
            "supplier": {"code": supplier},
            "source": {"type": "xlsx", "path": str(path)},
        }
    )
    result = run_task(task, stack.database_url, stack.settings)

    assert (result.status, result.sheets[0].header_row) == ("partial_success", 4)
    counts = (result.rows_landed, result.items_accepted, result.rows_rejected, result.rows_skipped)
    assert counts == (7, 4, 1, 2)
    items = supplier_items_of(stack, supplier)
    assert [(sku, price, c["category"]) for sku, _, price, _, c in items] == [
        ("AN-0612", Decimal("1234.56"), "Анкеры"),
        ("AN-0816", Decimal("2010.00"), "Анкеры"),
        ("BL-0630", Decimal("12.50"), "Болты"),
        ("BL-0840", Decimal("18.90"), "Болты"),
    ]
    logged = _one(stack, "select row_number, rule_code from marts.parsing_logs where task_id = %s",
                  task.task_id)  # fmt: skip
    assert logged == [(8, "price_unparseable")]
