"""Putting parse tasks on the RQ queue, waiting for them, and reading queue state."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import psycopg
from redis import Redis
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import (
    FailedJobRegistry,
    FinishedJobRegistry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)
from rq.worker import Worker

from loader import defaults
from loader.config import get_settings
from loader.exceptions import DatabaseUnavailableError
from loader.task import ParseTask


def connect(redis_url: str) -> Redis:
    return Redis.from_url(redis_url)


def get_queue(conn: Redis, name: str) -> Queue:
    return Queue(name, connection=conn)


@dataclass(frozen=True)
class Enqueued:
    job: Job
    created: bool  # False: a job with this task id already existed and was left as it is


def enqueue(task: ParseTask, queue: Queue) -> Enqueued:
    """Enqueue once per task id: a second enqueue of the same id returns the existing job,
    except after `needs_review`, when a person has decided and the task must run again."""
    try:
        return Enqueued(job=_enqueue(task, queue), created=True)
    except DuplicateJobError:
        job = Job.fetch(task.task_id, connection=queue.connection)
        if not _waiting_for_review(job):
            return Enqueued(job=job, created=False)
        job.delete()
        return Enqueued(job=_enqueue(task, queue), created=True)


def _enqueue(task: ParseTask, queue: Queue) -> Job:
    return queue.enqueue(
        "loader.jobs.process_task",
        task.model_dump(mode="json"),
        job_id=task.task_id,
        unique=True,
        retry=Retry(max=len(defaults.RETRY_INTERVALS), interval=defaults.RETRY_INTERVALS),
        job_timeout=get_settings().task_timeout_s,
        result_ttl=defaults.RESULT_TTL_S,
        failure_ttl=defaults.FAILURE_TTL_S,
        description=f"{task.supplier.code}: {task.source.describe()}",
    )


def _waiting_for_review(job: Job) -> bool:
    if job.get_status(refresh=True) != JobStatus.FINISHED:
        return False
    result = job.return_value(refresh=True)
    return isinstance(result, dict) and result.get("status") == "needs_review"


class TaskFailed(Exception):
    def __init__(self, job: Job, message: str):
        super().__init__(message)
        self.job = job


def current_stage(meta: dict[str, Any]) -> dict[str, Any]:
    """The stage a task reported last (loader.jobs.report_stage), or {} before the first."""
    stages = meta.get("stages") or [{}]
    return cast(dict[str, Any], stages[-1])


def progress(job: Job, status: JobStatus | None) -> str:
    """One line on where a task is: its state, attempt and stage (published by the job)."""
    meta = job.get_meta(refresh=True)
    line = f"{job.id}: {status.value if status else 'unknown'}"
    tries = len(meta.get("attempts", []))
    if tries > 1:
        line += f", attempt {tries}"
    stage = current_stage(meta)
    if status == JobStatus.STARTED and stage:
        # Counts of rows; the seconds a stage also records (`..._s`) are for make bench.
        counts = ", ".join(
            f"{k.replace('_', ' ')} {v}"
            for k, v in stage.items()
            if k not in ("name", "at") and not k.endswith("_s")
        )
        line += f", {stage['name']}" + (f" ({counts})" if counts else "")
    return line


def wait(
    job: Job,
    timeout_s: float,
    poll_s: float = 0.1,
    on_progress: Callable[[str], None] | None = None,
    database_url: str | None = None,
) -> dict[str, Any]:
    """Block until the task has its final result; return it or raise TaskFailed. A task that
    handed its landing over to a dbt run of another task (status `transforming`, see
    loader.handover) finishes on the queue first; its final result is then read from the
    database (`database_url`, by default the configured one). on_progress gets a line whenever
    the task's state or stage changes."""
    deadline = time.monotonic() + timeout_s
    shown = ""
    with contextlib.ExitStack() as stack:
        conn = None  # to the database, once a handed-over task is waited for
        while True:
            status = job.get_status(refresh=True)
            line = progress(job, status)
            result, done = None, status == JobStatus.FINISHED
            if done:
                result = cast(dict[str, Any], job.return_value(refresh=True))
                if isinstance(result, dict) and result.get("status") == "transforming":
                    line = f"{job.id}: landed, transforming in a dbt run with other waiting lists"
                    try:
                        conn = conn or stack.enter_context(_results_connection(database_url))
                        result = _final_result(conn, job.id)
                    except (psycopg.OperationalError, DatabaseUnavailableError):
                        conn = None  # the database is restarting: ask again at the next poll
                    done = result is not None
            if on_progress is not None and line != shown:
                on_progress(line)
                shown = line
            if done:
                return result  # type: ignore[return-value]
            if status in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
                raise TaskFailed(job, last_error(job))
            if time.monotonic() > deadline:
                state = "transforming" if status == JobStatus.FINISHED else status
                raise TimeoutError(f"task {job.id} still {state} after {timeout_s:.0f} s")
            time.sleep(poll_s)


def _results_connection(database_url: str | None) -> Any:
    from loader import runtime
    from loader.db import connect

    url = database_url or runtime.database_url(get_settings())
    return connect(url, autocommit=True, role=defaults.LOADER_ROLE)


def _final_result(conn: Any, task_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        "select result from raw.task_results where task_id = %s and status <> 'transforming'",
        (task_id,),
    ).fetchone()
    return cast(dict[str, Any], row[0]) if row else None


def last_error(job: Job) -> str:
    result = job.latest_result()
    text = (result.exc_string if result and result.exc_string else job.exc_info) or "unknown error"
    # The last line of the traceback is the error itself, with our message naming file and reason.
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else text


def queue_warnings(queued: int, dead_letters: int) -> list[str]:
    """What an operator must look at: a queue deeper than QUEUE_DEPTH_WARNING, any dead letter."""
    warnings = []
    limit = get_settings().queue_depth_warning
    if queued > limit:
        warnings.append(f"{queued} tasks waiting, more than {limit} (QUEUE_DEPTH_WARNING)")
    if dead_letters:
        warnings.append(f"{dead_letters} dead letter(s): see `loader dlq list`")
    return warnings


# What `loader status` shows of a task's result.
SHOWN_RESULT_FIELDS = ("status", "items_accepted", "rows_rejected", "duration_s")


def status(
    conn: Redis, queue_name: str, last: int = 10, database_url: str | None = None
) -> dict[str, Any]:
    """The queue's state and its last tasks. A task that handed its landing over finished on
    the queue as `transforming`; with database_url its final result is shown once written."""
    queue = get_queue(conn, queue_name)
    finished = FinishedJobRegistry(queue=queue)
    failed = FailedJobRegistry(queue=queue)
    recent: list[dict[str, Any]] = []
    for registry, label in ((finished, "finished"), (failed, "failed")):
        for job_id in registry.get_job_ids(-last, -1):
            try:
                job = Job.fetch(job_id, connection=conn)
            except NoSuchJobError:
                continue
            entry: dict[str, Any] = {
                "task_id": job.id,
                "status": label,
                "description": job.description,
                "ended_at": job.ended_at.isoformat() if job.ended_at else None,
            }
            if label == "finished":
                value = job.return_value()
                if isinstance(value, int):  # not a task: the job completing handed-over ones
                    value = {"status": f"completed {value} handed-over result(s)"}
                elif not isinstance(value, dict):
                    value = {"status": "done"}
                entry.update({k: value.get(k) for k in SHOWN_RESULT_FIELDS})
            else:
                entry["error"] = last_error(job)
            recent.append(entry)
    recent.sort(key=lambda e: e["ended_at"] or "", reverse=True)
    if database_url is not None:
        _with_final_results(recent, database_url)
    queued = queue.count
    return {
        "queue": queue_name,
        "queued": queued,
        "started": StartedJobRegistry(queue=queue).count,
        "scheduled_retries": ScheduledJobRegistry(queue=queue).count,
        "failed": failed.count,
        "workers": [
            {
                "name": w.name,
                "state": w.get_state(),
                "current_task": w.get_current_job_id(),
                "stage": _stage_of(conn, w.get_current_job_id()),
            }
            for w in Worker.all(queue=queue)
        ],
        "last_tasks": recent[:last],
        "warnings": queue_warnings(queued, failed.count),
    }


def _with_final_results(entries: list[dict[str, Any]], database_url: str) -> None:
    """Replace the queue's `transforming` with the final result where it is written; with the
    database unavailable, the queue's results are what there is to show."""
    handed = {e["task_id"]: e for e in entries if e.get("status") == "transforming"}
    if not handed:
        return
    try:
        with _results_connection(database_url) as db:
            rows = db.execute(
                "select task_id, result from raw.task_results"
                " where task_id = any(%s) and status <> 'transforming'",
                (list(handed),),
            ).fetchall()
    except (psycopg.Error, DatabaseUnavailableError):
        return
    for task_id, result in rows:
        handed[task_id].update({k: result.get(k) for k in SHOWN_RESULT_FIELDS})


def _stage_of(conn: Redis, job_id: str | None) -> str | None:
    if job_id is None:
        return None
    try:
        stage = current_stage(Job.fetch(job_id, connection=conn).get_meta())
    except NoSuchJobError:
        return None
    return stage.get("name")


def no_retry_for_permanent_errors(
    job: Job, exc_type: type, exc_value: BaseException, tb: object
) -> bool:
    """Worker exception handler: permanent errors go straight to the failed registry.

    RQ runs handlers before deciding whether to retry, on the same job object.
    """
    from pydantic import ValidationError
    from rq.timeouts import JobTimeoutException

    from loader.exceptions import LoaderError

    # A task that ran out of time would run out of time again: no retry.
    if (isinstance(exc_value, LoaderError) and not exc_value.retriable) or isinstance(
        exc_value, ValidationError | JobTimeoutException
    ):
        job.retries_left = 0
    return True  # let the next handler (RQ's default) run too


def job_state(conn: Redis, task_id: str) -> dict[str, Any] | None:
    """A task's state on the queue (queued, started, scheduled, failed...), or None if unknown."""
    try:
        job = Job.fetch(task_id, connection=conn)
    except NoSuchJobError:
        return None
    status = job.get_status(refresh=True)
    state: dict[str, Any] = {"task_id": task_id, "status": status.value if status else None}
    if status == JobStatus.FAILED:
        state["error"] = last_error(job)
    return state


def delete_queue(redis_url: str, queue_name: str) -> None:
    """Remove a queue, its jobs and its registries from Redis (a benchmark's or a test session's
    own queue; Redis persists)."""
    conn = connect(redis_url)
    queue = get_queue(conn, queue_name)
    registries = [
        queue.finished_job_registry,
        queue.failed_job_registry,
        queue.started_job_registry,
        queue.scheduled_job_registry,
        queue.deferred_job_registry,
    ]
    for registry in registries:
        for job_id in registry.get_job_ids():
            conn.delete(f"rq:job:{job_id}", f"rq:results:{job_id}")
        conn.delete(registry.key)
    queue.delete(delete_jobs=True)
