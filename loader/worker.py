"""The RQ worker process: a forking worker (each task in its own process: dbt keeps global
state) with the scheduler on, so that retries at 1 s, 5 s and 25 s actually happen, and a
guardian thread that recovers the tasks of crashed workers (see recovery.py)."""

from __future__ import annotations

import contextlib
import os
import signal
from typing import Any

from rq import Worker

from loader import queue as task_queue
from loader.logs import get_logger
from loader.recovery import Guardian

SCHEDULER_STOP_S = 10


class LoaderWorker(Worker):
    def stop_scheduler(self) -> None:
        """RQ sends its scheduler process SIGTERM and waits for it. A SIGTERM that arrives in
        the moment after the scheduler is forked and before it installs its own handler is
        swallowed, and the worker then waits forever: seen in CI, where a burst worker that
        started its scheduler during maintenance hung in teardown. Wait a bounded time, then
        kill it (the scheduler holds no work, only locks that expire)."""
        process = self.scheduler._process if self.scheduler else None
        if process is None or not process.pid:
            return
        with contextlib.suppress(OSError):  # already gone
            os.kill(process.pid, signal.SIGTERM)
        process.join(SCHEDULER_STOP_S)
        if process.is_alive():
            get_logger(worker=self.name).warning("scheduler_killed", pid=process.pid)
            process.kill()
            process.join()

    def handle_work_horse_killed(self, job: Any, retpid: Any, ret_val: Any, rusage: Any) -> None:
        """A task process that died (killed, out of memory) did not settle the landings earlier
        tasks left to it (loader.handover): with no more tasks queued, queue the job that
        transforms them. Best effort; the worker goes on either way."""
        super().handle_work_horse_killed(job, retpid, ret_val, rusage)
        from loader import handover, runtime
        from loader.config import get_settings

        try:
            settings = get_settings()
            handover.settle(runtime.database_url(settings), settings, self.queues[0])
        except Exception as err:  # the worker must keep running
            get_logger(worker=self.name).warning("handed_over_results_left", error=str(err))


def warm_up() -> None:
    """Do once, in the worker, what every forked task would otherwise do again: import the
    heavy libraries, run dlt once without loading, parse the dbt project and compile its
    macros. A 100-row list: 3.6 s end to end cold, see docs/performance.md for warm. A failed
    warm-up only costs time: the tasks then do it themselves, and report any real error."""
    # dbt imports its build, test and snapshot tasks, and dlt its postgres destination, only
    # when they run: in every forked task, unless imported here.
    import dbt.cli.main  # noqa: F401
    import dbt.task.build  # noqa: F401
    import dlt  # noqa: F401
    import dlt.destinations.impl.postgres.postgres  # noqa: F401

    import loader.jobs  # noqa: F401
    from loader import handover, landing, runtime, transform
    from loader.config import get_settings

    settings = get_settings()
    log = get_logger()
    try:
        landing.warm_up(settings.work_dir)
        transform.parse_project(runtime.database_url(settings), settings)
        if not transform.build_views(runtime.database_url(settings), settings):
            log.info("views_left_to_tasks", reason="another dbt run held the transform lock")
        # results handed over to a worker that died before its dbt run completed them: a job,
        # so that a kill in that run is recovered like any task's
        handover.queue_if_waiting(runtime.database_url(settings), settings)
    except Exception as err:  # see the docstring
        log.warning("warm_up_failed", error=str(err))


def run_worker(
    redis_url: str, queue_name: str, burst: bool = False, name: str | None = None
) -> bool:
    warm_up()
    conn = task_queue.connect(redis_url)
    queue = task_queue.get_queue(conn, queue_name)
    worker = LoaderWorker(
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
