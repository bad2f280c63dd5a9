"""Run dbt after a landing, never two dbt write commands at once on one database.

A PostgreSQL advisory lock serialises `dbt build` and `dbt snapshot` across every worker of a
database (snapshots and incremental merges are not safe under concurrency). The run processes
every complete landing waiting at that moment, then snapshots each waiting list into
price_history, one at a time in submission order; when a task gets the lock and finds that an
earlier run already processed its landing and its history, it skips dbt altogether.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from loader import db, defaults
from loader.config import Settings
from loader.db import DbParams
from loader.exceptions import DatabaseUnavailableError, TransformError
from loader.faults import checkpoint
from loader.logs import get_logger

_CONNECTION_TROUBLE = (
    "could not connect",
    "connection refused",
    "server closed the connection",
    "terminating connection",
    "connection to server",
)


@dataclass(frozen=True)
class TransformRun:
    ran_dbt: bool
    waited_s: float
    dbt_s: float


def transform(database_url: str, load_id: str, task_id: str, settings: Settings) -> TransformRun:
    log = get_logger()
    started = time.monotonic()
    with db.connect(database_url, autocommit=True) as lock_conn:
        lock_conn.execute("select pg_advisory_lock(%s)", (defaults.TRANSFORM_LOCK_KEY,))
        waited = time.monotonic() - started
        try:
            t0 = time.monotonic()
            if _already_transformed(lock_conn, task_id, load_id):
                if not _pending_history(lock_conn):
                    log.info("transform_skipped", reason="landing processed by an earlier dbt run")
                    return TransformRun(ran_dbt=False, waited_s=waited, dbt_s=0.0)
            else:
                checkpoint("transform", database_url)
                # Unit tests check the SQL, not the data (CI runs them); the snapshot and what
                # reads it (price_history) come after it, list by list.
                run_dbt(
                    database_url,
                    settings,
                    ["build", "--exclude", "test_type:unit", "supplier_item_prices+"],
                )
            if record_history(lock_conn, database_url, settings):
                run_dbt(
                    database_url,
                    settings,
                    ["build", "--select", "supplier_item_prices+", "--exclude",
                     "resource_type:snapshot", "test_type:unit"],
                )  # fmt: skip
            return TransformRun(ran_dbt=True, waited_s=waited, dbt_s=time.monotonic() - t0)
        finally:
            lock_conn.execute("select pg_advisory_unlock(%s)", (defaults.TRANSFORM_LOCK_KEY,))


PENDING_HISTORY = """
    select parsed.load_id, parsed.supplier_code, min(parsed.submitted_at), min(parsed.received_at)
    from staging.int_price_rows__parsed as parsed
    left join raw.history_loads as done on done.load_id = parsed.load_id
    where parsed.outcome = 'accepted' and done.snapshotted_at is null
    group by parsed.load_id, parsed.supplier_code
    order by min(parsed.submitted_at), parsed.load_id
"""


def _pending_history(conn: psycopg.Connection) -> list[tuple[Any, ...]]:
    exists = conn.execute("select to_regclass('staging.int_price_rows__parsed')").fetchone()
    if not exists or exists[0] is None:
        return []
    return conn.execute(PENDING_HISTORY).fetchall()


def record_history(conn: psycopg.Connection, database_url: str, settings: Settings) -> int:
    """Snapshot every list whose prices are not in price_history yet, one at a time, oldest
    submission first, each stamped with the time it was received: several lists landing before
    one transform each leave their prices in the history, in order. A list older than one
    already in the history of its supplier is recorded as superseded and changes nothing.
    Runs under the transform lock, so snapshots never run concurrently."""
    done = 0
    for load_id, supplier, submitted_at, received_at in _pending_history(conn):
        newest = conn.execute(
            "select submitted_at, load_id from raw.history_loads"
            " where supplier_code = %s and snapshotted_at is not null and not superseded"
            " order by submitted_at desc, load_id desc limit 1",
            (supplier,),
        ).fetchone()
        superseded = newest is not None and (submitted_at, load_id) < tuple(newest)
        conn.execute(
            "insert into raw.history_loads"
            " (load_id, supplier_code, submitted_at, received_at, superseded)"
            " values (%s, %s, %s, %s, %s) on conflict (load_id) do nothing",
            (load_id, supplier, submitted_at, received_at, superseded),
        )
        if not superseded:
            as_of = received_at.astimezone(dt.UTC).replace(tzinfo=None).isoformat()
            run_dbt(
                database_url,
                settings,
                [
                    "snapshot",
                    "--vars",
                    json.dumps({"history_loads": True, "snapshot_as_of": as_of}),
                ],
            )
        conn.execute(
            "update raw.history_loads set snapshotted_at = now() where load_id = %s", (load_id,)
        )
        done += 1
    return done


def _already_transformed(conn: psycopg.Connection, task_id: str, load_id: str) -> bool:
    exists = conn.execute("select to_regclass('marts.task_summaries') is not null").fetchone()
    if not exists or not exists[0]:
        return False
    row = conn.execute(
        "select 1 from marts.task_summaries where task_id = %s and load_id = %s", (task_id, load_id)
    ).fetchone()
    return row is not None


def dbt_paths(database_url: str, settings: Settings) -> tuple[Path, Path]:
    """Target and log dirs per database, so runs against different databases never mix state."""
    params = DbParams.from_url(database_url)
    base = settings.local_state_dir / "dbt" / f"{params.dbname}"
    return base / "target", base / "logs"


def run_dbt(database_url: str, settings: Settings, args: list[str]) -> object:
    """Invoke dbt in-process; failures become TransformError (or retriable connection errors)."""
    from dbt.cli.main import dbtRunner

    target, logs = dbt_paths(database_url, settings)
    os.environ.update(DbParams.from_url(database_url).dbt_env())
    os.environ["DO_NOT_TRACK"] = "1"
    result = dbtRunner().invoke(
        [
            *args,
            "--project-dir",
            str(settings.dbt_project_dir),
            "--profiles-dir",
            str(settings.dbt_profiles_dir),
            "--target-path",
            str(target),
            "--log-path",
            str(logs),
            "--quiet",
        ]
    )
    if result.success:
        return result.result
    if result.exception is not None:
        raise _classify(str(result.exception)) from result.exception
    failures = [
        f"{r.node.name}: {r.status} {(r.message or '').strip()[:300]}"
        for r in getattr(result.result, "results", [])
        if str(r.status) in ("error", "fail")
    ]
    raise _classify("; ".join(failures) or "dbt failed without a message")


def _classify(message: str) -> Exception:
    if any(marker in message.lower() for marker in _CONNECTION_TROUBLE):
        return DatabaseUnavailableError(f"database unavailable during dbt: {message}")
    return TransformError(f"dbt build failed: {message}")
