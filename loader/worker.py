"""The RQ worker process: a forking worker (each task in its own process: dbt keeps global
state) with the scheduler on, so that retries at 1 s, 5 s and 25 s actually happen."""

from __future__ import annotations

from rq import Worker

from loader import queue as task_queue
from loader.logs import get_logger


def run_worker(
    redis_url: str, queue_name: str, burst: bool = False, name: str | None = None
) -> bool:
    # Import the heavy libraries once in the parent so every forked task starts warm.
    import dbt.cli.main  # noqa: F401
    import dlt  # noqa: F401

    import loader.jobs  # noqa: F401

    conn = task_queue.connect(redis_url)
    worker = Worker(
        [task_queue.get_queue(conn, queue_name)],
        connection=conn,
        name=name,
        exception_handlers=[task_queue.no_retry_for_permanent_errors],
    )
    get_logger().info("worker_starting", queue=queue_name, worker=worker.name, burst=burst)
    return worker.work(with_scheduler=True, burst=burst, logging_level="WARNING")
