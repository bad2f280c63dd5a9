"""The dead-letter place: RQ's FailedJobRegistry of the ingest queue.

Tasks land here when they failed permanently (no retry) or exhausted their retries. An operator
lists them, reads why, and requeues them; a requeued task gets fresh retries (RQ's own requeue
keeps the exhausted count, so it would fail for good at the first transient error).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis import Redis
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry

from loader import defaults
from loader.jobs import attempts
from loader.queue import get_queue, last_error


@dataclass(frozen=True)
class DeadLetter:
    task_id: str
    description: str | None
    error: str
    attempts: int
    failed_at: str | None
    message: dict[str, Any]


def registry(conn: Redis, queue_name: str) -> FailedJobRegistry:
    return get_queue(conn, queue_name).failed_job_registry


def list_dead(conn: Redis, queue_name: str) -> list[DeadLetter]:
    return [d for job_id in registry(conn, queue_name).get_job_ids() if (d := show(conn, job_id))]


def show(conn: Redis, task_id: str) -> DeadLetter | None:
    try:
        job = Job.fetch(task_id, connection=conn)
    except NoSuchJobError:
        return None
    return DeadLetter(
        task_id=job.id,
        description=job.description,
        error=last_error(job),
        attempts=len(attempts(job)),
        failed_at=job.ended_at.isoformat() if job.ended_at else None,
        message=job.args[0] if job.args else {},
    )


def requeue(conn: Redis, queue_name: str, task_id: str) -> None:
    """Back on the queue with the full retry budget; KeyError if it is not a dead letter."""
    failed = registry(conn, queue_name)
    if task_id not in failed.get_job_ids():
        raise KeyError(task_id)
    job = Job.fetch(task_id, connection=conn)
    job.retries_left = len(defaults.RETRY_INTERVALS)
    job.retry_intervals = list(defaults.RETRY_INTERVALS)
    job.save()
    failed.requeue(task_id)
