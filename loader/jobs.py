"""The RQ job: read -> map -> land -> transform -> report, for one parse task.

`process_task` is what the queue runs; it takes only the JSON message. `run_task` does the work
in-process (also used by `loader ingest`).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import structlog
from psycopg.types.json import Jsonb
from rq import get_current_job
from rq.job import Job

from loader import defaults, handover, runtime
from loader.config import Settings, get_settings
from loader.db import connect
from loader.exceptions import LoaderError, NoDataRowsError, TransformError
from loader.faults import checkpoint
from loader.landing import Landing, land
from loader.logs import get_logger
from loader.mapping import REQUIRED_FIELDS, MappedSheet, map_sheet, memory
from loader.mapping.memory import RememberedMapping
from loader.result import Reason, SheetReport, TaskResult, TaskStatus
from loader.sources import get_source, limits
from loader.sources.base import Sheet
from loader.task import ParseTask


def process_task(message: dict[str, object]) -> dict[str, object]:
    """RQ entry point. Validates the message again: the worker trusts nothing on the queue."""
    record_attempt()
    task = ParseTask.parse(message)
    settings = get_settings()
    database_url = runtime.database_url(settings)
    return run_task(task, database_url, settings, hand_over=True).model_dump(mode="json")


def record_attempt() -> None:
    """Note when this attempt started, in the job's meta: RQ keeps no record of retried
    attempts, and operators (and the retry-timing tests) want to see them."""
    job = get_current_job()
    if job is not None:
        job.meta.setdefault("attempts", []).append(dt.datetime.now(dt.UTC).isoformat())
        job.save_meta()


def report_stage(stage: str, **counts: float) -> None:
    """Publish the stage the task is in (and its counts so far) in the job's meta, for
    `loader enqueue --wait` and `loader status`; a task run outside RQ publishes nothing."""
    structlog.contextvars.bind_contextvars(stage=stage)  # every log line says the stage
    job = get_current_job()
    if job is not None:
        entry = {"name": stage, "at": dt.datetime.now(dt.UTC).isoformat(), **counts}
        job.meta.setdefault("stages", []).append(entry)  # the last is the current one
        job.save_meta()


def attempts(job: Job) -> list[dt.datetime]:
    return [dt.datetime.fromisoformat(a) for a in job.get_meta(refresh=True).get("attempts", [])]


def read_and_map(
    task: ParseTask,
    memory: list[RememberedMapping] | None = None,
    supplier_overrides: dict[str, str] | None = None,
    max_rows: int | None = None,
) -> tuple[list[MappedSheet], dict[str, str]]:
    """Read every requested sheet and map it. A sheet that is empty, or has no column that can
    be a price or a name, is skipped with its reason when other sheets can be used; with none
    usable, the first error is raised (or the sheet is kept and the task needs review)."""
    where = task.source.describe()
    overrides = merge_overrides(supplier_overrides or {}, task.column_overrides)
    mapped: list[MappedSheet] = []
    unusable: list[MappedSheet] = []
    skipped: dict[str, str] = {}
    first_error: LoaderError | None = None
    for sheet in _staged(get_source(task.source.type).read(task.source, max_rows=max_rows)):
        limits.check_sheet(sheet, where)
        try:
            result = map_sheet(sheet, overrides, where=where, memory=memory)
        except NoDataRowsError as err:
            skipped[sheet.name] = str(err)
            first_error = first_error or err
            continue
        if _not_a_price_list(result):
            skipped[sheet.name] = f"{where}: {result.mapping.review_message()}"
            unusable.append(result)
        else:
            mapped.append(result)
    if not mapped:
        if unusable:
            for result in unusable:
                skipped.pop(result.mapping.sheet, None)
            return unusable, skipped
        if first_error is not None:
            raise first_error
        raise NoDataRowsError(f"{where}: no sheets to read")
    return mapped, skipped


def _staged(sheets: Iterator[Sheet]) -> Iterator[Sheet]:
    """Report `read` while the source reads a sheet and `map` while it is mapped (for each
    sheet of a workbook; the last `read` is the source finding no more sheets)."""
    while True:
        report_stage("read")
        sheet = next(sheets, None)
        if sheet is None:
            return
        report_stage("map", rows_read=len(sheet.rows))  # a streamed sheet: its first rows
        yield sheet


def merge_overrides(saved: dict[str, str], task: dict[str, str]) -> dict[str, str]:
    """The task's overrides win: a saved override of the same header, or one that gives a field
    the task gives to another column, is dropped."""
    task_fields = {t for t in task.values() if not t.startswith("characteristic:")} - {"ignore"}
    kept = {h: t for h, t in saved.items() if h not in task and t not in task_fields}
    return {**kept, **task}


def _not_a_price_list(sheet: MappedSheet) -> bool:
    return any(sheet.mapping.column_for(f) is None for f in REQUIRED_FIELDS)


def load_supplier_mapping(
    database_url: str, supplier_code: str
) -> tuple[list[RememberedMapping], dict[str, str]]:
    with connect(database_url, role=defaults.LOADER_ROLE) as conn:
        return memory.load(conn, supplier_code), memory.load_overrides(conn, supplier_code)


def run_task(
    task: ParseTask, database_url: str, settings: Settings, *, hand_over: bool = False
) -> TaskResult:
    """Run one task. With hand_over (the queue's tasks), a task that finds another worker's dbt
    run in progress, or more tasks waiting in its queue, hands its landing over and ends: that
    run, or a later task's, transforms it with every other waiting landing, and its final
    result is written then (status `transforming` until then). Workers otherwise ran dbt once
    per list, taking turns at it (docs/performance.md, loader.handover)."""
    started = time.monotonic()
    structlog.contextvars.bind_contextvars(
        task_id=task.task_id, supplier=task.supplier.code, source=task.source.describe()
    )
    log = get_logger()
    transformed = False  # this task's dbt run, or the one it handed over to, took what waits
    try:
        remembered, supplier_overrides = load_supplier_mapping(database_url, task.supplier.code)
        mapped, skipped = read_and_map(task, remembered, supplier_overrides)
        for sheet in mapped:
            for warning in sheet.mapping.warnings:
                log.warning("mapping_warning", sheet=sheet.mapping.sheet, warning=warning)
        checkpoint("read", database_url)
        if any(m.mapping.needs_review for m in mapped):
            result = _needs_review(task, mapped, skipped, started)
            store_result(database_url, result)
            log.warning("task_needs_review", message=result.message)
            return result
        report_stage("land")  # a streamed sheet's other rows are read as they are landed
        landing = land(task, mapped, database_url, settings.work_dir)
        # `land` included reading a streamed list's rows: said, so make bench can tell them apart
        report_stage(
            "transform",
            rows_landed=landing.row_count,
            read_while_landing_s=round(landing.streamed_read_s, 3),
        )
        with connect(database_url, role=defaults.LOADER_ROLE) as conn:
            for sheet in mapped:
                memory.remember(conn, task.task_id, task.supplier.code, sheet.mapping)
        from loader.transform import transform  # dbt import is heavy; only when needed

        if hand_over:  # stored first: a dbt run or queued task that starts after then sees it
            handed = _transforming(task, mapped, skipped, landing, started)
            store_result(database_url, handed)
            transformed_by = "a later task" if handover.leave_to_next_task(database_url) else None
            if transformed_by is None:
                run = transform(database_url, landing.load_id, task.task_id, settings, wait=False)
                transformed_by = "the dbt run in progress" if run.handed_over else None
            if transformed_by is not None:
                checkpoint("report", database_url)
                log.info(
                    "task_handed_over",
                    rows_landed=landing.row_count,
                    load_id=landing.load_id,
                    transformed_by=transformed_by,
                )
                transformed = True  # by that run, with the landings left to this task
                return handed
        else:
            run = transform(database_url, landing.load_id, task.task_id, settings)
        checkpoint("report", database_url)
        # dbt's node seconds, by kind, for make bench (dbt_models_s, dbt_history_s, ...)
        node_s = {f"dbt_{kind}_s": seconds for kind, seconds in run.node_s.items()}
        report_stage("report", rows_landed=landing.row_count, **node_s)
        result = _report(task, mapped, skipped, landing, database_url, started)
        store_result(database_url, result)
        log.info(
            "task_done",
            status=result.status,
            rows_landed=result.rows_landed,
            items_accepted=result.items_accepted,
            rows_rejected=result.rows_rejected,
            rows_skipped=result.rows_skipped,
            ran_dbt=run.ran_dbt,
            lock_wait_s=round(run.waited_s, 3),
            dbt_s=round(run.dbt_s, 3),
            dbt_node_s=run.node_s,
            duration_s=result.duration_s,
        )
        transformed = True
        handover.complete(database_url, settings)
        return result
    except LoaderError as err:
        log.error("task_failed", error_code=err.code, retriable=err.retriable, error=str(err))
        if not err.retriable:
            _store_failure(task, err, database_url, started)
        raise
    finally:
        if hand_over and not transformed:  # landings earlier tasks left to it (loader.handover)
            handover.settle(database_url, settings)
        structlog.contextvars.unbind_contextvars("task_id", "supplier", "source", "stage")


def _store_failure(task: ParseTask, err: LoaderError, database_url: str, started: float) -> None:
    """A task that failed for good gets a `failed` result too, so `loader task` can say why.
    Best effort: the error itself is what the queue reports."""
    result = _nothing_landed(task, "failed", f"{err.code}: {err}", started)
    try:
        store_result(database_url, result)
    except (LoaderError, psycopg.Error):
        get_logger().warning("task_result_not_stored", task_id=task.task_id)


def store_result(database_url: str, result: TaskResult) -> None:
    with connect(database_url, role=defaults.LOADER_ROLE) as conn:
        conn.execute(
            "insert into raw.task_results (task_id, supplier_code, status, result)"
            " values (%s, %s, %s, %s) on conflict (task_id) do update"
            " set status = excluded.status, result = excluded.result, finished_at = now()",
            (
                result.task_id,
                result.supplier_code,
                result.status,
                Jsonb(result.model_dump(mode="json")),
            ),
        )


def _sheet_reports(mapped: list[MappedSheet]) -> list[SheetReport]:
    return [
        SheetReport(
            sheet=m.mapping.sheet,
            header_row=m.mapping.header_row,
            rows=m.count_rows(),
            mapping={
                f: (col.header or col.key) if (col := m.mapping.column_for(f)) else None
                for f in ("supplier_sku", "name", "price", "currency")
            },
            review=m.mapping.review,
            warnings=m.mapping.warnings,
        )
        for m in mapped
    ]


def _needs_review(
    task: ParseTask, mapped: list[MappedSheet], skipped: dict[str, str], started: float
) -> TaskResult:
    where = task.source.describe()
    messages = [m.mapping.review_message() for m in mapped if m.mapping.needs_review]
    message = (
        f"{where}: nothing was loaded; the column mapping needs a person. "
        + " | ".join(messages)
        + f". Set the columns (loader mapping set {task.supplier.code} 'HEADER=price' ...)"
        " or give the task column_overrides, then run it again."
    )
    return _nothing_landed(task, "needs_review", message, started, _sheet_reports(mapped), skipped)


def _nothing_landed(
    task: ParseTask,
    status: TaskStatus,
    message: str,
    started: float,
    sheets: list[SheetReport] | None = None,
    skipped: dict[str, str] | None = None,
) -> TaskResult:
    """The result of a task that stopped before landing a row (needs review, or failed)."""
    return TaskResult(
        task_id=task.task_id,
        supplier_code=task.supplier.code,
        source=task.source.describe(),
        status=status,
        rows_landed=0,
        items_accepted=0,
        rows_rejected=0,
        rows_skipped=0,
        rejected_by_rule={},
        sheets=sheets or [],
        skipped_sheets=skipped or {},
        duration_s=round(time.monotonic() - started, 3),
        message=message,
    )


TOP_REASONS = 5


def _report(
    task: ParseTask,
    mapped: list[MappedSheet],
    skipped: dict[str, str],
    landing: Landing,
    database_url: str,
    started: float,
) -> TaskResult:
    landed = _transforming(task, mapped, skipped, landing, started)
    with connect(database_url, role=defaults.TRANSFORM_ROLE) as conn:
        result = transformed_result(conn, landed)
    if result is None:
        raise TransformError(f"task {task.task_id}: dbt ran but produced no task summary")
    return result.model_copy(
        update={"message": None, "duration_s": round(time.monotonic() - started, 3)}
    )


def transformed_result(conn: Any, landed: TaskResult) -> TaskResult | None:
    """The final result of a task whose landing dbt has transformed, from its summary and the
    rules its rows broke; None while the landing has no summary yet."""
    summary = conn.execute(
        "select rows_landed, items_accepted, rows_rejected, rows_skipped, rows_warned"
        " from marts.task_summaries where task_id = %s and load_id = %s",
        (landed.task_id, landed.load_id),
    ).fetchone()
    if summary is None:
        return None
    reasons = top_reasons(conn, landed.task_id, landed.load_id)
    rows_landed, accepted, rejected, skipped_rows, warned = summary
    return landed.model_copy(
        update={
            "status": TaskResult.status_for(accepted, rejected, len(landed.skipped_sheets)),
            "rows_landed": rows_landed,
            "items_accepted": accepted,
            "rows_rejected": rejected,
            "rows_skipped": skipped_rows,
            "rows_warned": warned,
            "rejected_by_rule": {r.rule_code: r.rows for r in reasons if r.severity == "error"},
            "warned_by_rule": {r.rule_code: r.rows for r in reasons if r.severity == "warn"},
            "top_reasons": reasons[:TOP_REASONS],
        }
    )


def _transforming(
    task: ParseTask,
    mapped: list[MappedSheet],
    skipped: dict[str, str],
    landing: Landing,
    started: float,
) -> TaskResult:
    """A landed task's result while its rows wait for a dbt run (status `transforming`)."""
    return TaskResult(
        task_id=task.task_id,
        supplier_code=task.supplier.code,
        source=task.source.describe(),
        status="transforming",
        rows_landed=landing.row_count,
        items_accepted=0,
        rows_rejected=0,
        rows_skipped=0,
        rejected_by_rule={},
        sheets=_sheet_reports(mapped),
        skipped_sheets=skipped,
        duration_s=round(time.monotonic() - started, 3),
        message="landed; a dbt run of another task transforms it with the other waiting lists",
        load_id=landing.load_id,
    )


def top_reasons(conn: Any, task_id: str, load_id: str | None = None) -> list[Reason]:
    """Every rule the task's rows broke, errors first, then by how many rows."""
    rows = conn.execute(
        "select rule_code, severity, count(*),"
        " (array_agg(format('sheet %%s, row %%s, column %%s, value %%s: %%s', sheet, row_number,"
        "   coalesce(column_key, '-'), coalesce(quote_literal(left(raw_value, 80)), '-'),"
        "   message) order by sheet, row_number))[1]"
        " from marts.parsing_logs where task_id = %s and (%s::text is null or load_id = %s)"
        " group by rule_code, severity"
        " order by severity = 'error' desc, count(*) desc, rule_code",
        (task_id, load_id, load_id),
    ).fetchall()
    return [Reason(rule_code=r, severity=s, rows=n, example=e) for r, s, n, e in rows]
