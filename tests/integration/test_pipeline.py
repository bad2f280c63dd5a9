"""End to end: price lists through real Redis, a real worker process, dlt and dbt into Postgres."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from loader import queue as task_queue
from loader.exceptions import NoDataRowsError, SourceNotFoundError
from loader.jobs import attempts, run_task
from loader.task import ParseTask
from tests.conftest import Stack
from tests.helpers import REAL, supplier_items_of, write_csv, write_xlsx

CSV_LINES = [
    "Прайс-лист ООО «Тест» на 01.11.2026",
    "Артикул;Наименование;Цена, руб.;Остаток",
    "Кабели",
    "К-001;Кабель ВВГнг 3х2,5;1 165,00;340",
    "К-002;Кабель ПВС 2х0,75;89,90 руб.;1 200",
    "000777;Провод ПуГВ 1х1,5;25;0",
]


def make_task(task_id: str, supplier: str, path: Path, **supplier_extra: Any) -> ParseTask:
    task_id = f"{task_id}-{RUN['id']}"
    source = {"type": "xlsx" if path.suffix == ".xlsx" else "csv", "path": str(path)}
    return ParseTask.parse(
        {
            "task_id": task_id,
            "supplier": {"code": supplier, **supplier_extra},
            "source": source,
        }
    )


RUN: dict[str, str] = {}


@pytest.fixture(autouse=True)
def _unique_task_ids(stack: Stack) -> None:
    RUN["id"] = stack.run_id


def full_items(stack: Stack, supplier: str) -> list[tuple[Any, ...]]:
    with stack.connect() as conn:
        return conn.execute(
            "select supplier_item_id, supplier_sku, name, price, currency, characteristics,"
            " first_seen_at from marts.supplier_items where supplier_code = %s order by 2",
            (supplier,),
        ).fetchall()


def logs(stack: Stack, task_id: str) -> list[tuple[Any, ...]]:
    with stack.connect() as conn:
        return conn.execute(
            "select sheet, row_number, rule_code, column_key, raw_value, message"
            " from marts.parsing_logs where task_id = %s order by sheet, row_number",
            (task_id,),
        ).fetchall()


def test_csv_and_xlsx_through_the_queue_and_a_worker(stack: Stack, tmp_path: Path) -> None:
    csv_path = write_csv(tmp_path / "cables.csv", CSV_LINES, encoding="cp1251", newline="\r\n")
    xlsx_path = write_xlsx(
        tmp_path / "gadgets.xlsx",
        {
            "Prices": [
                ["Item No", "Description", "Unit Price (USD)", "Brand", "EAN"],
                ["GX-1", "USB-C charger 65W", 39.9, "Anker", "0123456789012"],
                ["GX-2", "Wireless mouse", "24.50", "Logitech", None],
            ]
        },
    )
    conn = task_queue.connect(stack.redis_url)
    queue = task_queue.get_queue(conn, stack.settings.queue_name)
    jobs = [
        task_queue.enqueue(make_task("q-csv", "q-cables", csv_path), queue).job,
        task_queue.enqueue(make_task("q-xlsx", "q-gadgets", xlsx_path), queue).job,
    ]

    stack.run_worker_burst()

    results = [task_queue.wait(job, 5, database_url=stack.database_url) for job in jobs]
    assert [
        (r["status"], r["rows_landed"], r["items_accepted"], r["rows_skipped"]) for r in results
    ] == [
        ("success", 4, 3, 1),
        ("success", 2, 2, 0),
    ]
    # The stages `enqueue --wait` and `make bench` show: reading and mapping apart, per sheet;
    # the last `read` is the source finding no further sheet. The first task landed while the
    # second waited in the queue, and left its landing to the second one's dbt run.
    stages = [[s["name"] for s in job.get_meta(refresh=True)["stages"]] for job in jobs]
    assert stages[0] == ["read", "map", "read", "land", "transform"]
    assert stages[1][-3:] == ["land", "transform", "report"]
    assert supplier_items_of(stack, "q-cables") == [
        ("000777", "Провод ПуГВ 1х1,5", Decimal("25"), "RUB", {"category": "Кабели", "stock": 0}),
        (
            "К-001",
            "Кабель ВВГнг 3х2,5",
            Decimal("1165.00"),
            "RUB",
            {"category": "Кабели", "stock": 340},
        ),
        (
            "К-002",
            "Кабель ПВС 2х0,75",
            Decimal("89.90"),
            "RUB",
            {"category": "Кабели", "stock": 1200},
        ),
    ]
    assert supplier_items_of(stack, "q-gadgets") == [
        (
            "GX-1",
            "USB-C charger 65W",
            Decimal("39.9"),
            "USD",
            {"brand": "Anker", "barcode": "0123456789012"},
        ),
        ("GX-2", "Wireless mouse", Decimal("24.50"), "USD", {"brand": "Logitech"}),
    ]


def test_rerunning_the_same_list_changes_nothing(stack: Stack, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "l.csv", CSV_LINES + ["К-003;;10;1", "К-004;Клемма;по запросу;5"])
    first = run_task(make_task("rerun-1", "rerun", path), stack.database_url, stack.settings)
    before_items, before_logs = full_items(stack, "rerun"), logs(stack, stack.task_id("rerun-1"))
    assert first.status == "partial_success"
    assert [(r[1], r[2]) for r in before_logs] == [(7, "missing_name"), (8, "price_unparseable")]

    # The same list again as a new task, and the same task again (as a retry would run it).
    again = run_task(make_task("rerun-2", "rerun", path), stack.database_url, stack.settings)
    retried = run_task(make_task("rerun-1", "rerun", path), stack.database_url, stack.settings)

    assert full_items(stack, "rerun") == before_items
    assert logs(stack, stack.task_id("rerun-1")) == before_logs  # a retried task logs nothing twice
    assert again.items_accepted == retried.items_accepted == first.items_accepted == 3
    with stack.connect() as conn:
        summaries = conn.execute(
            "select count(*) from marts.task_summaries where task_id = %s",
            (stack.task_id("rerun-1"),),
        ).fetchone()
    assert summaries == (1,)


def test_a_changed_price_updates_exactly_that_item(stack: Stack, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "v1.csv", CSV_LINES)
    run_task(make_task("price-v1", "pricechange", path), stack.database_url, stack.settings)
    before = full_items(stack, "pricechange")

    changed = [line.replace("89,90 руб.", "94,50 руб.") for line in CSV_LINES]
    path2 = write_csv(tmp_path / "v2.csv", changed)
    run_task(make_task("price-v2", "pricechange", path2), stack.database_url, stack.settings)
    after = full_items(stack, "pricechange")

    differing = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
    assert len(differing) == 1
    old, new = differing[0]
    assert (old[1], old[3], new[3]) == ("К-002", Decimal("89.90"), Decimal("94.50"))
    assert new[6] == old[6]  # first_seen_at is kept


@pytest.mark.parametrize(
    "label", json.loads((REAL / "labels.json").read_text()), ids=lambda lbl: lbl["file"]
)
def test_real_price_lists_account_for_every_row(stack: Stack, label: dict[str, Any]) -> None:
    supplier = "real-" + label["file"][:2]
    task = make_task(
        f"real-{label['file'][:2]}",
        supplier,
        REAL / label["file"],
        default_currency=label["columns"]["currency"],
    )
    result = run_task(task, stack.database_url, stack.settings)

    assert result.rows_landed == label["n_item_rows"]
    assert result.items_accepted + result.rows_rejected + result.rows_skipped == result.rows_landed
    assert result.rows_rejected == sum(result.rejected_by_rule.values())
    assert len(supplier_items_of(stack, supplier)) == result.items_accepted
    assert result.items_accepted >= 0.9 * label["n_item_rows"]
    assert {r[3] for r in supplier_items_of(stack, supplier)} == {label["columns"]["currency"]}


def database_state(stack: Stack, excluding_supplier: str) -> tuple[Any, ...]:
    """Every item, the number of log rows and of landed rows, leaving one supplier out."""
    with stack.connect() as conn:
        row = conn.execute(
            "select (select json_agg(t order by supplier_code, supplier_sku)"
            "        from marts.supplier_items t where supplier_code <> %(s)s),"
            " (select count(*) from marts.parsing_logs where supplier_code <> %(s)s),"
            " (select count(*) from raw.price_rows where supplier_code <> %(s)s)",
            {"s": excluding_supplier},
        ).fetchone()
    assert row is not None
    return tuple(row)


def test_bad_input_fails_clearly_and_the_worker_keeps_serving(stack: Stack, tmp_path: Path) -> None:
    run_task(
        make_task("bad-baseline", "bad-baseline", write_csv(tmp_path / "ok.csv", CSV_LINES)),
        stack.database_url,
        stack.settings,
    )
    before = database_state(stack, excluding_supplier="bad-good")

    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "binary.csv").write_bytes(bytes(range(256)) * 20)
    (tmp_path / "text.xlsx").write_text("Артикул;Цена\n1;2\n")
    write_csv(tmp_path / "header_only.csv", ["Артикул;Наименование;Цена", ";;"])
    cases = {
        "bad-missing": (tmp_path / "missing.csv", "missing.csv: file not found"),
        "bad-empty": (tmp_path / "empty.csv", "empty.csv: file is empty"),
        "bad-binary": (tmp_path / "binary.csv", "binary.csv: binary data"),
        "bad-notxlsx": (tmp_path / "text.xlsx", "text.xlsx: not an XLSX workbook"),
        "bad-norows": (
            tmp_path / "header_only.csv",
            "header_only.csv, sheet 'header_only.csv': header on row 1 but no data rows",
        ),
    }
    conn_r = task_queue.connect(stack.redis_url)
    queue = task_queue.get_queue(conn_r, stack.settings.queue_name)
    jobs = {
        tid: task_queue.enqueue(make_task(tid, "bad", path), queue).job
        for tid, (path, _) in cases.items()
    }
    good = task_queue.enqueue(
        make_task("bad-then-good", "bad-good", write_csv(tmp_path / "g.csv", CSV_LINES)), queue
    ).job

    stack.run_worker_burst()

    for tid, (_, expected) in cases.items():
        with pytest.raises(task_queue.TaskFailed, match=expected):
            task_queue.wait(jobs[tid], timeout_s=5, database_url=stack.database_url)
        assert len(attempts(jobs[tid])) == 1  # permanent: one attempt, no retries
    assert task_queue.wait(good, 5, database_url=stack.database_url)["items_accepted"] == 3
    # The database is as it was, apart from the one good list processed after the bad ones.
    assert database_state(stack, excluding_supplier="bad-good") == before


def test_permanent_errors_surface_from_run_task(stack: Stack, tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError):
        run_task(
            make_task("direct-missing", "direct", tmp_path / "nope.csv"),
            stack.database_url,
            stack.settings,
        )
    write_csv(tmp_path / "h.csv", ["Артикул;Наименование;Цена"])
    with pytest.raises(NoDataRowsError):
        run_task(
            make_task("direct-norows", "direct", tmp_path / "h.csv"),
            stack.database_url,
            stack.settings,
        )


def test_an_xlsx_sheet_that_cannot_be_used_is_skipped_with_its_reason(
    stack: Stack, tmp_path: Path
) -> None:
    path = write_xlsx(
        tmp_path / "two.xlsx",
        {
            "Notes": [["Call us: 8-800"]],
            "Prices": [["Код", "Товар", "Цена"], ["A", "Гвоздь", "1,50"]],
        },
    )
    result = run_task(
        make_task("two-sheets", "two-sheets", path), stack.database_url, stack.settings
    )
    assert result.status == "partial_success"
    assert list(result.skipped_sheets) == ["Notes"]
    assert "sheet 'Notes': no column can be the price" in result.skipped_sheets["Notes"]
    assert supplier_items_of(stack, "two-sheets") == [("A", "Гвоздь", Decimal("1.50"), None, {})]


def test_a_streamed_list_lands_every_row_and_a_bad_row_late_in_it_lands_none(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A big list is read as it is landed (loader.sources.base.Sheet.streamed): every row
    still lands and is counted once; a bad row far below the head fails the task with the
    file, row and column, and nothing of the list lands."""
    from loader.config import get_settings
    from loader.exceptions import LimitExceededError
    from loader.sources import csv_file

    monkeypatch.setattr(csv_file, "STREAM_HEAD_BYTES", 16 * 1024)  # stream from 16 KB up
    lines = ["Артикул;Наименование;Цена, руб."]
    lines += [f"S-{i:05d};Кабель {i};{i % 50 + 1},50" for i in range(3_000)]
    path = write_csv(tmp_path / "streamed.csv", lines)
    result = run_task(make_task("streamed", "streamed", path), stack.database_url, stack.settings)
    assert (result.rows_landed, result.items_accepted) == (3_000, 3_000)
    assert result.sheets[0].rows == 3_000
    with stack.connect() as conn:
        counted = conn.execute(
            "select row_count, (select count(*) from raw.price_rows r where r.task_id = t.task_id)"
            " from raw.task_loads t where task_id = %s",
            (stack.task_id("streamed"),),
        ).fetchone()
    assert counted == (3_000, 3_000)

    before = database_state(stack, excluding_supplier="-")
    monkeypatch.setattr(get_settings(), "max_cell_chars", 100)
    bad = write_csv(
        tmp_path / "late.csv", [*lines[:2_500], f"S-99999;{'x' * 150};1", *lines[2_500:]]
    )
    with pytest.raises(
        LimitExceededError, match=r"late\.csv, sheet 'late\.csv', row 2501, column B"
    ):
        run_task(make_task("late-bad", "streamed", bad), stack.database_url, stack.settings)
    assert database_state(stack, excluding_supplier="-") == before
