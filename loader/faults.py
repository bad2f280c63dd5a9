"""Fault injection points for the reliability tests; inert unless LOADER_FAULT is set.

LOADER_FAULT="<action>@<stage>" fires at a stage of a task (read, land, transform, report):
- kill: SIGKILL the worker's main process and this job process, as a crashed machine would
  (at `transform` after a short delay, so that dbt is mid-run);
- drop_db: terminate every other connection to the task's database after a short delay, as a
  database restart would;
- fail: raise a retriable error;
- hang: sleep far longer than any task may take (the job timeout must stop it).
LOADER_FAULT_ONCE=<path>: fire only while the file does not exist (it is created on firing), so
the retry runs clean.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

from loader.exceptions import RetriableError

STAGES = ("read", "land", "transform", "report")
DELAY_S = 0.8
HANG_S = 3600


class InjectedFault(RetriableError):
    code = "injected_fault"


def checkpoint(stage: str, database_url: str | None = None) -> None:
    spec = os.environ.get("LOADER_FAULT")
    if not spec:
        return
    action, _, at = spec.partition("@")
    if at != stage or not _first_time():
        return
    if action == "kill":
        if stage == "transform":
            threading.Timer(DELAY_S, _kill_worker_and_self).start()
        else:
            _kill_worker_and_self()
    elif action == "drop_db" and database_url:
        threading.Timer(DELAY_S, _drop_connections, args=(database_url,)).start()
    elif action == "fail":
        raise InjectedFault(f"injected failure at {stage}")
    elif action == "hang":
        time.sleep(HANG_S)


def _first_time() -> bool:
    marker = os.environ.get("LOADER_FAULT_ONCE")
    if not marker:
        return True
    try:
        Path(marker).open("x").close()
    except FileExistsError:
        return False
    return True


def _kill_worker_and_self() -> None:
    os.kill(os.getppid(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)


def _drop_connections(database_url: str) -> None:
    from loader.db import connect

    with connect(database_url, autocommit=True) as conn:
        conn.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity"
            " where datname = current_database() and pid <> pg_backend_pid()"
        )
