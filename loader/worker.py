"""The RQ worker process: a forking worker (each task in its own process: dbt keeps global
state) with the scheduler on, so that retries at 1 s, 5 s and 25 s actually happen, and a
guardian thread that recovers the tasks of crashed workers (see recovery.py)."""

from __future__ import annotations

from rq import Worker

from loader import queue as task_queue
from loader.logs import get_logger
from loader.recovery import Guardian


def run_worker(
    redis_url: str, queue_name: str, burst: bool = False, name: str | None = None
) -> bool:
    # Import the heavy libraries once in the parent so every forked task starts warm.
    import dbt.cli.main  # noqa: F401
    import dlt  # noqa: F401

    import loader.jobs  # noqa: F401

    conn = task_queue.connect(redis_url)
    queue = task_queue.get_queue(conn, queue_name)
    worker = Worker(
        [queue],
        connection=conn,
        name=name,
        exception_handlers=[task_queue.no_retry_for_permanent_errors],
        # Heartbeat the running task and clean registries often: a crashed worker's task is
        # picked up by the guardian within seconds; these bound RQ's own fallback.
        job_monitoring_interval=10,
        maintenance_interval=30,
        # An idle worker blocks in dequeue for worker_ttl - 15 s and runs maintenance (which
        # restarts a dead scheduler) only after it; RQ's default of 420 s is far too long.
        worker_ttl=45,
    )
    guardian = Guardian(task_queue.connect(redis_url), queue, worker.name)
    guardian.start()
    get_logger().info("worker_starting", queue=queue_name, worker=worker.name, burst=burst)
    try:
        return worker.work(with_scheduler=True, burst=burst, logging_level="WARNING")
    finally:
        guardian.stop()
