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
