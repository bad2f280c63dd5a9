"""Land a task's rows in PostgreSQL schema `raw` with dlt, append-only.

Data rules:
- One `raw.price_rows` row per data row of every sheet (cells as JSONB keyed by header, original
  row number, sheet, task id) and one `raw.task_loads` row per task (supplier, source, per-sheet
  header row and mapping with scores, row count), in one dlt load package.
- A landing is complete only when dlt records its load id in `raw._dlt_loads` (status 0); dbt
  reads nothing else, so a half-written landing is invisible.
- Every run gets a fresh, private dlt working directory, deleted afterwards: a crashed earlier run
  can never leave a pending package that makes dlt skip this task's data.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loader import defaults
from loader.db import DbParams
from loader.exceptions import DatabaseUnavailableError, LoaderError, RetriableError
from loader.faults import checkpoint
from loader.mapping import ColumnMapping, MappedSheet, SheetMapping
from loader.task import ParseTask

# dlt reads its configuration from the environment. No state restore (each run is fresh and
# self-contained), no telemetry (no network here), no gzip (2-3x slower for nothing on a local DB).
os.environ.setdefault("RESTORE_FROM_DESTINATION", "false")
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
os.environ.setdefault("DATA_WRITER__DISABLE_COMPRESSION", "true")
# Arrow batches get dlt's load id and row id columns, which raw.price_rows requires.
os.environ.setdefault("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID", "true")
os.environ.setdefault("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_ID", "true")

# Arrow's own allocator in the pyarrow wheels (mimalloc) kept the memory of the batches dlt
# rewrites: a 1M-row list peaked at 594 MB while landing, and the peak grew with the list. With
# the system allocator the same task peaked at 404 MB (docs/performance.md). Read when pyarrow
# first allocates, so it is set here, before any landing.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")


def _not_the_cells_type_note(record: logging.LogRecord) -> bool:
    """dlt warns on every landing that the `cells` column's hint (json) differs from its Arrow
    type (string). That is by design: the JSON text is what COPY loads into the jsonb column.
    A warning on every task would hide the ones that matter."""
    return "when merging arrow schema with dlt schema" not in record.getMessage()


logging.getLogger("dlt").addFilter(_not_the_cells_type_note)

ARROW_COLUMNS = ("task_id", "supplier_code", "sheet", "row_number", "cells")
ARROW_BATCH_ROWS = 50_000  # bounded memory: one batch of rows as Arrow at a time


ROWS_COLUMNS = {"cells": {"data_type": "json"}}
# Optional columns exist even when a first task leaves them empty.
TASK_COLUMNS = {
    "sheets": {"data_type": "json"},
    "supplier_name": {"data_type": "text", "nullable": True},
    "default_currency": {"data_type": "text", "nullable": True},
}


def _to_table(item: Any, table: str, columns: dict[str, Any]) -> Any:
    import dlt

    hints = dlt.mark.make_hints(table_name=table, write_disposition="append", columns=columns)
    return dlt.mark.with_hints(item, hints, create_table_variant=True)


def _arrow_schema() -> Any:  # pyarrow is imported only when landing
    import pyarrow as pa

    return pa.schema(
        [("task_id", pa.string()), ("supplier_code", pa.string()), ("sheet", pa.string()),
         ("row_number", pa.int64()), ("cells", pa.string())]
    )  # fmt: skip


def _land_as_the_connection_role() -> None:
    """dlt resets its psycopg2 connection before use, and psycopg2's reset ends with
    `SET SESSION AUTHORIZATION DEFAULT`, which drops the role given at connection start: rows
    would be written with every right of the login. `RESET ROLE` brings the start-up role back
    (tests/integration/test_roles.py checks that landing has only the loader role's rights)."""
    from dlt.destinations.impl.postgres.sql_client import Psycopg2SqlClient

    reset = Psycopg2SqlClient._reset_connection
    if getattr(reset, "keeps_role", False):
        return

    def reset_keeping_role(self: Psycopg2SqlClient) -> None:
        reset(self)
        with self._conn.cursor() as cursor:
            cursor.execute("reset role")

    reset_keeping_role.keeps_role = True  # type: ignore[attr-defined]
    Psycopg2SqlClient._reset_connection = reset_keeping_role  # type: ignore[method-assign]


class LandingError(LoaderError):
    code = "landing_failed"


class LandingConflictError(RetriableError):
    code = "landing_conflict"


@dataclass(frozen=True)
class Landing:
    load_id: str
    row_count: int
    received_at: dt.datetime
    streamed_read_s: float = 0.0  # reading a streamed list's rows, while landing them


def land(task: ParseTask, sheets: list[MappedSheet], database_url: str, work_dir: Path) -> Landing:
    from dlt.pipeline.exceptions import PipelineStepFailed

    _land_as_the_connection_role()
    received_at = dt.datetime.now(dt.UTC)
    credentials = DbParams.from_url(database_url).as_role(defaults.LOADER_ROLE).dlt_credentials()
    work_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"dlt-{task.task_id}-", dir=work_dir) as tmp:
        pipeline = _pipeline(Path(tmp), credentials)
        try:
            pipeline.extract(_resources(task, sheets, received_at), loader_file_format="csv")
            pipeline.normalize()
            checkpoint("land", database_url)  # the package is ready, nothing loaded yet
            info = pipeline.load()
        except PipelineStepFailed as err:
            raise _classify(err, task) from err
    return Landing(
        load_id=info.loads_ids[-1],
        row_count=sum(s.row_count for s in sheets),
        received_at=received_at,
        streamed_read_s=sum(s.streamed_s for s in sheets),
    )


def warm_up(work_dir: Path) -> None:
    """Extract and normalize a one-row list the way `land` does, and load nothing. The worker
    calls this once, before it forks a process per task: dlt resolves its configuration and
    loads its writers lazily, on the first run in a process, and without this every task paid
    for it again (500 rows landed in 0.85 s instead of 0.25 s; docs/performance.md)."""
    task = ParseTask.parse({
        "task_id": "warm-up",
        "supplier": {"code": "warm-up", "default_currency": "RUB"},
        "source": {"type": "csv", "path": "warm-up.csv"},
    })  # fmt: skip
    column = ColumnMapping(index=0, letter="A", header="price", key="price", field="price")
    sheet = MappedSheet(SheetMapping(sheet="warm-up", header_row=1, columns=[column]),
                        rows=[(2, {"price": "1"})])  # fmt: skip
    work_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="dlt-warm-up-", dir=work_dir) as tmp:
        # No database behind these credentials: nothing is loaded.
        pipeline = _pipeline(Path(tmp), "postgresql://warm-up@localhost:1/warm-up")
        pipeline.extract(
            _resources(task, [sheet], dt.datetime.now(dt.UTC)), loader_file_format="csv"
        )
        pipeline.normalize()


def _pipeline(tmp: Path, credentials: Any) -> Any:
    import dlt

    return dlt.pipeline(
        pipeline_name="landing",
        pipelines_dir=str(tmp),
        destination=dlt.destinations.postgres(credentials=credentials),
        dataset_name=defaults.RAW_SCHEMA,
    )


def _resources(task: ParseTask, sheets: list[MappedSheet], received_at: dt.datetime) -> Any:
    """One resource for both tables, so that the task row, which counts the rows, is written
    after them: a streamed sheet's rows are counted as they pass."""
    import dlt

    def rows_then_task() -> Iterator[Any]:
        for batch in _arrow_batches(task, sheets):
            yield _to_table(batch, defaults.ROWS_TABLE, ROWS_COLUMNS)
        task_row = {
            "task_id": task.task_id,
            "supplier_code": task.supplier.code,
            "supplier_name": task.supplier.name,
            "default_currency": task.supplier.default_currency,
            "source_type": task.source.type,
            "source_ref": task.source.describe(),
            "submitted_at": task.submitted_at,
            "received_at": received_at,
            "row_count": sum(s.row_count for s in sheets),
            "sheets": [{**s.mapping.as_dict(), "row_count": s.row_count} for s in sheets],
        }
        yield _to_table(task_row, defaults.TASKS_TABLE, TASK_COLUMNS)

    return dlt.resource(rows_then_task(), name="landing", write_disposition="append")


def _arrow_batches(task: ParseTask, sheets: list[MappedSheet]) -> Iterator[Any]:
    """Arrow batches, not dicts: dlt then writes them straight to a CSV file for COPY, about
    10x faster than normalising dicts row by row (docs/performance.md). At most
    ARROW_BATCH_ROWS rows are held at a time."""
    import pyarrow as pa

    batch: dict[str, list[Any]] = {c: [] for c in ARROW_COLUMNS}
    for sheet in sheets:
        for row_number, cells in sheet.iter_rows():
            batch["task_id"].append(task.task_id)
            batch["supplier_code"].append(task.supplier.code)
            batch["sheet"].append(sheet.mapping.sheet)
            batch["row_number"].append(row_number)
            batch["cells"].append(
                json.dumps(
                    {_storable(k): _storable(v) for k, v in cells.items()}, ensure_ascii=False
                )
            )
            if len(batch["cells"]) == ARROW_BATCH_ROWS:
                yield pa.table(batch, schema=_arrow_schema())
                batch = {c: [] for c in ARROW_COLUMNS}
    if batch["cells"]:
        yield pa.table(batch, schema=_arrow_schema())


def _storable(value: Any) -> Any:
    """PostgreSQL text and JSONB cannot hold NUL; a sheet cell can. It becomes U+FFFD."""
    return value.replace("\x00", "\ufffd") if isinstance(value, str) else value


def _classify(err: Exception, task: ParseTask) -> LoaderError:
    """Connection problems and concurrent schema updates are retriable; anything else is a
    permanent landing failure."""
    import psycopg2
    from dlt.common.destination.exceptions import SchemaUpdateTerminalError

    cause: BaseException | None = err
    while cause is not None:
        if isinstance(cause, LoaderError):  # a streamed sheet's bad row, met while landing
            return cause
        if isinstance(cause, psycopg2.OperationalError):
            return DatabaseUnavailableError(
                f"task {task.task_id}: database unavailable while landing: {cause}"
            )
        if isinstance(cause, SchemaUpdateTerminalError):
            # Another landing changed raw's tables at the same moment; dlt says a retry is safe.
            return LandingConflictError(
                f"task {task.task_id}: concurrent schema update in raw, will retry: {cause}"
            )
        cause = cause.__cause__ or cause.__context__
    return LandingError(
        f"task {task.task_id}: landing failed at step {getattr(err, 'step', '?')}: {err}"
    )
