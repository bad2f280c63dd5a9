"""Queue backup for deployments and rollbacks: take the waiting tasks off the queue into a file,
and put them back later (the runbook: stop workers, drain, migrate or roll back, restore).

Waiting means queued or scheduled for a retry. Running tasks are left to finish, and dead
letters stay where they are (they run only when an operator requeues them). The file is written
and synced before any task is removed, so a crash in between loses nothing. Task ids are unique
on the queue, so restoring a file twice, or a task that is back already, adds nothing.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redis import Redis
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.worker import Worker

from loader.exceptions import InvalidTaskError
from loader.queue import enqueue, get_queue
from loader.task import ParseTask


class WorkersRunningError(RuntimeError):
    pass


@dataclass
class Restored:
    restored: list[str] = field(default_factory=list)
    already_known: list[str] = field(default_factory=list)
    invalid: dict[str, str] = field(default_factory=dict)  # task id -> why


def drain(conn: Redis, queue_name: str, path: Path, force: bool = False) -> list[str]:
    """Write the waiting tasks to `path` (JSON lines) and remove them; return their ids."""
    queue = get_queue(conn, queue_name)
    if not force and Worker.all(queue=queue):
        raise WorkersRunningError(
            "workers are running on this queue and could take tasks while draining:"
            " stop them first (or pass --force)"
        )
    waiting = [(job_id, "queued") for job_id in queue.get_job_ids()]
    waiting += [(job_id, "retry") for job_id in queue.scheduled_job_registry.get_job_ids()]
    records, jobs = [], []
    for job_id, place in waiting:
        try:
            job = Job.fetch(job_id, connection=conn)
        except NoSuchJobError:
            continue
        records.append(
            {
                "task_id": job.id,
                "was": place,
                "attempts": job.get_meta().get("attempts", []),
                "message": job.args[0] if job.args else None,
            }
        )
        jobs.append(job)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    for job in jobs:
        job.delete()  # also takes it off the queue and out of the scheduled registry
    return [r["task_id"] for r in records]


def restore(conn: Redis, queue_name: str, path: Path) -> Restored:
    """Enqueue every task of a drained file again, with a full set of retries; the attempts
    made before the drain stay in the task's meta."""
    queue = get_queue(conn, queue_name)
    outcome = Restored()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        record: dict[str, Any] = json.loads(line)
        task_id = str(record.get("task_id") or f"line {number}")
        try:
            task = ParseTask.parse(record["message"])
        except (InvalidTaskError, KeyError) as err:
            outcome.invalid[task_id] = f"{path.name} line {number}: {err}".splitlines()[0]
            continue
        enqueued = enqueue(task, queue)
        if not enqueued.created:
            outcome.already_known.append(task.task_id)
            continue
        if record.get("attempts"):
            enqueued.job.meta["attempts"] = record["attempts"]
            enqueued.job.save_meta()
        outcome.restored.append(task.task_id)
    return outcome
