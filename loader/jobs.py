"""The RQ job: read -> map -> land -> transform -> report, for one parse task.

`process_task` is what the queue runs; it takes only the JSON message. `run_task` does the work
in-process (also used by `loader ingest`).
"""

from __future__ import annotations

import datetime as dt
import time

import structlog
from rq import get_current_job
from rq.job import Job

from loader import runtime
from loader.config import Settings, get_settings
from loader.db import connect
from loader.exceptions import LoaderError, MappingError, NoDataRowsError, TransformError
from loader.faults import checkpoint
from loader.landing import land
from loader.logs import get_logger
from loader.mapping import MappedSheet, map_sheet
from loader.result import SheetReport, TaskResult
from loader.sources import get_source
from loader.task import ParseTask


def process_task(message: dict[str, object]) -> dict[str, object]:
    """RQ entry point. Validates the message again: the worker trusts nothing on the queue."""
    record_attempt()
    task = ParseTask.parse(message)
    settings = get_settings()
    return run_task(task, runtime.database_url(settings), settings).model_dump(mode="json")


def record_attempt() -> None:
    """Note when this attempt started, in the job's meta: RQ keeps no record of retried
    attempts, and operators (and the retry-timing tests) want to see them."""
    job = get_current_job()
    if job is not None:
        job.meta.setdefault("attempts", []).append(dt.datetime.now(dt.UTC).isoformat())
        job.save_meta()


def attempts(job: Job) -> list[dt.datetime]:
    return [dt.datetime.fromisoformat(a) for a in job.get_meta(refresh=True).get("attempts", [])]


def read_and_map(task: ParseTask) -> tuple[list[MappedSheet], dict[str, str]]:
    """Read every requested sheet and map it. A sheet that is empty or cannot be mapped is
    skipped with its reason when other sheets can be used; with none usable, the first error
    is raised."""
    where = task.source.describe()
    mapped: list[MappedSheet] = []
    skipped: dict[str, str] = {}
    first_error: LoaderError | None = None
    for sheet in get_source(task.source.type).read(task.source):
        try:
            mapped.append(map_sheet(sheet, task.column_overrides, where=where))
        except (NoDataRowsError, MappingError) as err:
            skipped[sheet.name] = str(err)
            first_error = first_error or err
    if not mapped:
        if first_error is not None:
            raise first_error
        raise NoDataRowsError(f"{where}: no sheets to read")
    return mapped, skipped


def run_task(task: ParseTask, database_url: str, settings: Settings) -> TaskResult:
    started = time.monotonic()
    structlog.contextvars.bind_contextvars(
        task_id=task.task_id, supplier=task.supplier.code, source=task.source.describe()
    )
    log = get_logger()
    try:
        mapped, skipped = read_and_map(task)
        checkpoint("read", database_url)
        landing = land(task, mapped, database_url, settings.work_dir)
        from loader.transform import transform  # dbt import is heavy; only when needed

        run = transform(database_url, landing.load_id, task.task_id, settings)
        checkpoint("report", database_url)
        result = _report(task, mapped, skipped, landing.load_id, database_url, started)
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
            duration_s=result.duration_s,
        )
        return result
    except LoaderError as err:
        log.error("task_failed", error_code=err.code, retriable=err.retriable, error=str(err))
        raise
    finally:
        structlog.contextvars.unbind_contextvars("task_id", "supplier", "source")


def _report(
    task: ParseTask,
    mapped: list[MappedSheet],
    skipped: dict[str, str],
    load_id: str,
    database_url: str,
    started: float,
) -> TaskResult:
    with connect(database_url) as conn:
        summary = conn.execute(
            "select rows_landed, items_accepted, rows_rejected, rows_skipped"
            " from marts.task_summaries where task_id = %s and load_id = %s",
            (task.task_id, load_id),
        ).fetchone()
        if summary is None:
            raise TransformError(f"task {task.task_id}: dbt ran but produced no task summary")
        by_rule: dict[str, int] = dict(
            conn.execute(
                "select rule_code, count(*) from marts.parsing_logs where task_id = %s"
                " and load_id = %s group by rule_code order by rule_code",
                (task.task_id, load_id),
            ).fetchall()
        )
    rows_landed, accepted, rejected, skipped_rows = summary
    return TaskResult(
        task_id=task.task_id,
        supplier_code=task.supplier.code,
        source=task.source.describe(),
        status=TaskResult.status_for(accepted, rejected, len(skipped)),
        rows_landed=rows_landed,
        items_accepted=accepted,
        rows_rejected=rejected,
        rows_skipped=skipped_rows,
        rejected_by_rule=by_rule,
        sheets=[
            SheetReport(
                sheet=m.mapping.sheet,
                header_row=m.mapping.header_row,
                rows=len(m.rows),
                mapping={
                    f: (col.header or col.key) if (col := m.mapping.column_for(f)) else None
                    for f in ("supplier_sku", "name", "price", "currency")
                },
            )
            for m in mapped
        ],
        skipped_sheets=skipped,
        duration_s=round(time.monotonic() - started, 3),
    )
