"""Landings handed from one task to another worker's dbt run, and their final results.

A queue task that finds the transform lock held (another worker's dbt run in progress) does not
wait for it: it stores its result with status `transforming` and ends, and its worker takes the
next task. Whoever holds the lock, when its own run is over, completes those results here, and
runs dbt again (without waiting for the lock) while some landing still waits. So under load one
dbt run takes the lists of many tasks, and a worker is not held by a lock (docs/performance.md).

Nothing is left behind: a task that finds the lock held stores its `transforming` result and
then tries the lock once more (taking it, it runs dbt itself), and every process that held the
lock calls `complete` after letting it go. So the process holding the lock at that last try
sees the result, or a process that took the lock after it did, and that one's run took the
landing (it was complete before the lock was tried). A process that is out of time for more
dbt rounds queues a job that goes on, and so does a worker when it starts and finds results
waiting (their holder died in between); a job killed in its dbt run is run again, like a task.

A task that lands while more tasks wait in its queue leaves its landing to them the same way
(`leave_to_next_task`): one of them runs dbt for all, so a backlog costs a dbt run per batch,
not per list. The oldest waiting landing bounds it (DEFER_MAX_AGE_S). Every queued task, when it
ends, transforms what waits, or leaves it to the next (the queue has more), or queues the job
that completes it (`settle`), and so does a worker whose task process died (loader.worker).
"""

from __future__ import annotations

import time
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from redis.exceptions import RedisError
from rq import Queue

from loader import defaults
from loader.config import Settings
from loader.db import connect
from loader.exceptions import LoaderError
from loader.logs import get_logger
from loader.result import TaskResult

# A process starts no further dbt round for handed-over landings after this long; it queues a
# job (at the front) that goes on, so that its own task never nears the queue's job timeout.
DRAIN_BUDGET_S = 60.0
# A task leaves its landing to a later task's dbt run only while the oldest landing already
# waiting is younger than this: a steady stream of lists still gets a dbt run this often.
DEFER_MAX_AGE_S = 30.0


def complete(database_url: str, settings: Settings) -> int:
    """Complete the handed-over results whose landings dbt has taken, and run dbt for the ones
    still waiting while the lock is free. Returns how many results were completed. Never
    raises: the caller's own task is done, and what is left waits for the next run."""
    from loader.transform import transform  # dbt import is heavy

    log = get_logger()
    started = time.monotonic()
    done = 0
    try:
        while True:
            completed, waiting = _complete_transformed(database_url)
            done += completed
            if not waiting:
                break
            if _more_queued():  # a queued task takes them, with its own (see the docstring)
                break
            if time.monotonic() - started > DRAIN_BUDGET_S:
                _queue_the_rest(settings, waiting)
                break
            run = transform(database_url, None, None, settings, wait=False)
            if run.handed_over:  # its holder completes them when its run is over
                break
            if not run.ran_dbt:
                log.warning("handed_over_results_stuck", waiting=waiting)
                break
    except (LoaderError, psycopg.Error, RedisError) as err:
        log.warning("handed_over_results_left", error=str(err), completed=done)
    return done


def leave_to_next_task(database_url: str) -> bool:
    """Whether a task that stored its `transforming` result ends there, leaving its landing to
    a later task's dbt run: more tasks wait in its queue, and the oldest waiting landing is
    younger than DEFER_MAX_AGE_S. Call it only after the result is stored: a task still in
    the queue then sees that result when it ends."""
    if not _more_queued():
        return False
    with connect(database_url, role=defaults.LOADER_ROLE) as conn:
        row = conn.execute(
            "select coalesce(extract(epoch from now() - min(finished_at)), 0)"
            " from raw.task_results where status = 'transforming'"
        ).fetchone()
    return row is not None and float(row[0]) < DEFER_MAX_AGE_S


def settle(database_url: str, settings: Settings, queue: Queue | None = None) -> None:
    """At the end of a task that ran no dbt (it needs review, or failed, or its process died:
    `queue` is then its worker's): landings left to it by earlier tasks get a job that
    transforms them, unless a task still queued will. Never raises: the task's own outcome is
    what it reports."""
    try:
        if not _more_queued(queue):
            queue_if_waiting(database_url, settings, queue)
    except (LoaderError, psycopg.Error, RedisError) as err:
        get_logger().warning("handed_over_results_left", error=str(err))


def _more_queued(queue: Queue | None = None) -> bool:
    """Whether the queue (by default the running job's) holds more jobs; False outside one."""
    from rq import get_current_job

    from loader import queue as task_queue

    job = get_current_job()
    if queue is None and job is not None:
        queue = task_queue.get_queue(job.connection, job.origin)
    return queue is not None and queue.count > 0


def complete_queued() -> int:
    """The queue's job for handed-over results one process left (DRAIN_BUDGET_S)."""
    from loader import runtime
    from loader.config import get_settings

    settings = get_settings()
    return complete(runtime.database_url(settings), settings)


def queue_if_waiting(database_url: str, settings: Settings, queue: Queue | None = None) -> None:
    """At a worker's start, or when a task ran no dbt: queue the job that completes results
    still waiting (their holder died after they were handed over, and no task has come since;
    or they were left to that task). `queue`: the worker's, outside a job."""
    count = waiting(database_url)
    if count:
        _queue_the_rest(settings, count, queue)


def _queue_the_rest(settings: Settings, waiting: int, queue: Queue | None = None) -> None:
    from rq import get_current_job

    from loader import queue as task_queue
    from loader import runtime

    job = get_current_job()
    if job is not None:
        queue = task_queue.get_queue(job.connection, job.origin)
    elif queue is None:
        conn = task_queue.connect(runtime.redis_url(settings))
        queue = task_queue.get_queue(conn, settings.queue_name)
    queued = queue.enqueue(
        "loader.handover.complete_queued",
        at_front=True,
        job_timeout=settings.task_timeout_s,
        result_ttl=defaults.RESULT_TTL_S,
        failure_ttl=defaults.FAILURE_TTL_S,
        description="results handed over to a dbt run: the rest",
    )
    get_logger().info("handed_over_results_queued", waiting=waiting, job_id=queued.id)


def waiting(database_url: str) -> int:
    """How many handed-over results wait for their landing's dbt run."""
    with connect(database_url, role=defaults.LOADER_ROLE) as conn:
        row = conn.execute(
            "select count(*) from raw.task_results where status = 'transforming'"
        ).fetchone()
    return int(row[0]) if row else 0


def _complete_transformed(database_url: str) -> tuple[int, int]:
    """(completed, still waiting). A landing counts as taken when it has its summary and its
    prices are in the history (or it was superseded there)."""
    from loader.jobs import transformed_result

    with connect(database_url, role=defaults.LOADER_ROLE) as conn:
        rows = conn.execute(
            "select result from raw.task_results where status = 'transforming'"
        ).fetchall()
    if not rows:
        return 0, 0
    finals: list[TaskResult] = []
    with connect(database_url, role=defaults.TRANSFORM_ROLE) as conn:
        for (stored,) in rows:
            landed = TaskResult.model_validate(stored)
            if _in_history(conn, landed.load_id) and (done := transformed_result(conn, landed)):
                finals.append(done.model_copy(update={"message": HANDED_OVER}))
    with connect(database_url, role=defaults.LOADER_ROLE) as conn:
        for result in finals:  # never over a final result its own task wrote meanwhile
            conn.execute(
                "update raw.task_results set status = %s, result = %s, finished_at = now()"
                " where task_id = %s and status = 'transforming'",
                (result.status, Jsonb(result.model_dump(mode="json")), result.task_id),
            )
    return len(finals), len(rows) - len(finals)


HANDED_OVER = (
    "landed while another task's dbt run was in progress or more tasks were queued,"
    " and transformed by a later dbt run"
)


def _in_history(conn: Any, load_id: str | None) -> bool:
    row = conn.execute(
        "select 1 from raw.history_loads where load_id = %s and snapshotted_at is not null",
        (load_id,),
    ).fetchone()
    return row is not None
