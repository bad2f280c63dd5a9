"""Queue and dead-letter depth show up in the worker's logs."""

from __future__ import annotations

import uuid

from structlog.testing import capture_logs

from loader import queue as task_queue
from loader.recovery import Guardian
from tests.conftest import Stack


def test_queue_and_dead_letter_depth_are_logged(stack: Stack) -> None:
    conn = task_queue.connect(stack.redis_url)
    queue = task_queue.get_queue(conn, f"depth-{uuid.uuid4().hex[:8]}")
    guardian = Guardian(conn, queue, "w-test")
    try:
        queue.enqueue("loader.jobs.process_task", {}, job_id=f"depth-{stack.run_id}")
        with capture_logs() as logs:
            guardian.log_depths()
        assert logs == [
            {
                "event": "queue_depth",
                "log_level": "info",
                "worker": "w-test",
                "queue": queue.name,
                "queued": 1,
                "scheduled_retries": 0,
                "dead_letters": 0,
            }
        ]

        job = queue.dequeue_any([queue], None, connection=conn)[0]  # type: ignore[index]
        queue.failed_job_registry.add(job, exc_string="boom")
        with capture_logs() as logs:
            guardian.log_depths()
        assert logs[0]["log_level"] == "warning" and logs[0]["dead_letters"] == 1
    finally:
        queue.failed_job_registry.remove(f"depth-{stack.run_id}", delete_job=True)
        queue.delete(delete_jobs=True)


def test_an_overdue_retry_is_enqueued_when_no_scheduler_took_it(stack: Stack) -> None:
    """A retry 10 s late means RQ's scheduler is gone (its worker was killed); the guardian
    enqueues it, once."""
    import datetime as dt

    from loader.recovery import promote_overdue_retries

    conn = task_queue.connect(stack.redis_url)
    queue = task_queue.get_queue(conn, f"overdue-{uuid.uuid4().hex[:8]}")
    try:
        late = queue.enqueue_at(
            dt.datetime.now(dt.UTC) - dt.timedelta(seconds=30), "loader.jobs.process_task", {}
        )
        soon = queue.enqueue_at(
            dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30), "loader.jobs.process_task", {}
        )
        assert promote_overdue_retries(conn, queue) == [late.id]
        assert promote_overdue_retries(conn, queue) == []
        assert queue.job_ids == [late.id]
        assert queue.scheduled_job_registry.get_job_ids() == [soon.id]
    finally:
        queue.scheduled_job_registry.remove(soon, delete_job=True)
        queue.delete(delete_jobs=True)
