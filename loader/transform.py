"""Run dbt after a landing, never two dbt write commands at once on one database.

A PostgreSQL advisory lock serialises `dbt build` across every worker of a database (dbt
snapshots and incremental merges are not safe under concurrency). The run processes every
complete landing waiting at that moment, so when a task gets the lock and finds that an earlier
run already processed its landing, it skips dbt altogether.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

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
            if _already_transformed(lock_conn, task_id, load_id):
                log.info("transform_skipped", reason="landing processed by an earlier dbt run")
                return TransformRun(ran_dbt=False, waited_s=waited, dbt_s=0.0)
            t0 = time.monotonic()
            checkpoint("transform", database_url)
            # Unit tests check the SQL, not the data: CI runs them (`dbt build`), workers need not.
            run_dbt(database_url, settings, ["build", "--exclude", "test_type:unit"])
            return TransformRun(ran_dbt=True, waited_s=waited, dbt_s=time.monotonic() - t0)
        finally:
            lock_conn.execute("select pg_advisory_unlock(%s)", (defaults.TRANSFORM_LOCK_KEY,))


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
