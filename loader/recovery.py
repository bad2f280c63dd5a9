"""Getting a crashed worker's task running again within seconds, not RQ's 90 s or more.

RQ notices a dead worker only when the job's started-registry entry expires (its heartbeat TTL
is at least 60 s, a constant) and some worker later cleans the registry. Instead every loader
worker publishes a liveness key (refreshed every LIVENESS_REFRESH_S, expiring after
LIVENESS_TTL_S) and, every REAP_INTERVAL_S, reaps started tasks whose worker's key is gone:
the task is put back at the front of the queue at once, using one of its retries (as RQ does
for an abandoned job), or dead-lettered when none is left. Removing the registry entry is the
claim, so two reapers never requeue one task twice. Tasks are idempotent, so a task whose
worker only looked dead (an orphaned job process that still finishes) ends in the same state.
"""

from __future__ import annotations

import threading
import time

from redis import Redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.intermediate_queue import IntermediateQueue
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry

from loader.logs import get_logger
from loader.queue import queue_warnings

LIVENESS_TTL_S = 15
# RQ's scheduler takes a due retry within about a second; one this late has no scheduler.
OVERDUE_RETRY_S = 10
LIVENESS_REFRESH_S = 3
REAP_INTERVAL_S = 5
WORKERS_KEY = "loader:workers"
DEPTH_LOG_INTERVAL_S = 60


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _members(conn: Redis, key: str) -> set[str]:
    return {_text(m) for m in conn.smembers(key)}


def _entries(conn: Redis, key: str) -> list[str]:
    return [_text(e) for e in conn.zrange(key, 0, -1)]


def alive_key(worker_name: str) -> str:
    return f"loader:alive:{worker_name}"


def publish(conn: Redis, worker_name: str) -> None:
    with conn.pipeline() as pipe:
        pipe.sadd(WORKERS_KEY, worker_name)
        pipe.set(alive_key(worker_name), 1, ex=LIVENESS_TTL_S)
        pipe.execute()


def retire(conn: Redis, worker_name: str) -> None:
    """A clean shutdown: the worker's tasks are not abandoned, it just stops taking new ones."""
    with conn.pipeline() as pipe:
        pipe.srem(WORKERS_KEY, worker_name)
        pipe.delete(alive_key(worker_name))
        pipe.execute()


def reap_abandoned(conn: Redis, queue: Queue) -> list[str]:
    """Requeue (or dead-letter) the started tasks of loader workers that stopped being alive."""
    registry = StartedJobRegistry(queue=queue)
    known = _members(conn, WORKERS_KEY)
    reaped: list[str] = []
    busy: set[str] = set()  # workers that still hold a started task after this pass
    for entry in _entries(conn, registry.key):
        job_id = entry.split(":", 1)[0]
        try:
            job = Job.fetch(job_id, connection=conn)
        except NoSuchJobError:
            conn.zrem(registry.key, entry)
            continue
        worker = job.worker_name
        if not worker or worker not in known or conn.exists(alive_key(worker)):
            busy.add(worker or "")
            continue  # alive, or not a loader worker (left to RQ's own cleanup)
        if not conn.zrem(registry.key, entry):
            continue  # another worker's reaper claimed it first
        IntermediateQueue(queue.key, conn).remove(job_id)
        log = get_logger(task_id=job_id, dead_worker=worker)
        if job.retries_left and job.retries_left > 0:
            job.retries_left -= 1
            job.save()
            queue.enqueue_job(job, at_front=True)
            log.warning("task_requeued_after_worker_died", retries_left=job.retries_left)
        else:
            with conn.pipeline() as pipe:
                job.set_status(JobStatus.FAILED, pipeline=pipe)
                job._handle_failure(
                    f"worker {worker} died while running the task, and no retries are left",
                    pipe,
                    worker_name="",
                )
                pipe.execute()
            log.error("task_dead_lettered_after_worker_died")
        reaped.append(job_id)
    for worker in known:
        if worker not in busy and not conn.exists(alive_key(worker)):
            conn.srem(WORKERS_KEY, worker)
    return reaped


def promote_overdue_retries(conn: Redis, queue: Queue) -> list[str]:
    """Enqueue scheduled retries that are long overdue.

    RQ's scheduler runs in one worker's child process. When that worker is killed, or the
    scheduler dies with a Redis restart, another worker takes over only after its blocking
    dequeue returns (minutes). Until then this backs it up. Removing the registry entry is the
    claim, so a retry is enqueued once even if the real scheduler wakes up at the same time.
    """
    registry = queue.scheduled_job_registry
    promoted: list[str] = []
    for job_id in registry.get_jobs_to_schedule(int(time.time()) - OVERDUE_RETRY_S):
        if not conn.zrem(registry.key, job_id):
            continue
        try:
            job = Job.fetch(job_id, connection=conn)
        except NoSuchJobError:
            continue
        queue.enqueue_job(job)
        get_logger(task_id=job_id).warning("overdue_retry_enqueued_without_scheduler")
        promoted.append(job_id)
    return promoted


class Guardian(threading.Thread):
    """Runs in the worker's main process: keeps its liveness key fresh, reaps dead workers'
    tasks and enqueues retries that no scheduler picked up."""

    def __init__(self, conn: Redis, queue: Queue, worker_name: str) -> None:
        super().__init__(name="loader-guardian", daemon=True)
        self.conn, self.queue, self.worker_name = conn, queue, worker_name
        self.stopped = threading.Event()

    def run(self) -> None:
        ticks = 0
        while not self.stopped.is_set():
            try:
                publish(self.conn, self.worker_name)
                if ticks % max(1, REAP_INTERVAL_S // LIVENESS_REFRESH_S) == 0:
                    reap_abandoned(self.conn, self.queue)
                    promote_overdue_retries(self.conn, self.queue)
                if ticks % max(1, DEPTH_LOG_INTERVAL_S // LIVENESS_REFRESH_S) == 0:
                    self.log_depths()
            except Exception as err:  # noqa: BLE001 - a Redis hiccup must not kill the thread
                get_logger(worker=self.worker_name).warning("guardian_error", error=str(err))
            ticks += 1
            self.stopped.wait(LIVENESS_REFRESH_S)

    def log_depths(self) -> None:
        """Queue and dead-letter depth in the logs, for dashboards and alerts."""
        queued = self.queue.count
        dead = self.queue.failed_job_registry.count
        log = get_logger(worker=self.worker_name, queue=self.queue.name)
        fields = {
            "queued": queued,
            "scheduled_retries": self.queue.scheduled_job_registry.count,
            "dead_letters": dead,
        }
        if queue_warnings(queued, dead):
            log.warning("queue_depth", **fields)
        else:
            log.info("queue_depth", **fields)

    def stop(self) -> None:
        self.stopped.set()
        retire(self.conn, self.worker_name)
