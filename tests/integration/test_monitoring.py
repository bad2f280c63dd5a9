"""What operators watch and do: queue and dead-letter depth in logs and `loader status`,
progress of `loader enqueue --wait`, and the queue backup around a rollback."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from rq.worker import Worker
from structlog.testing import capture_logs

from loader import queue as task_queue
from loader.cli import main
from loader.config import PROJECT_ROOT, get_settings
from loader.recovery import Guardian
from tests.conftest import Stack
from tests.helpers import stop_worker, write_csv


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


@pytest.fixture
def own_queue(
    stack: Stack, fresh_database: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Stack, Callable[..., Result]]]:
    """A queue and a database of this test's own, for the CLI (in process) and for worker
    processes: what other tests left waiting does not slow it down."""
    from click.testing import CliRunner

    from loader import cli, migrate
    from loader.config import get_settings

    migrate.upgrade(fresh_database)
    name = f"own-{uuid.uuid4().hex[:8]}"
    mine = replace(
        stack,
        database_url=fresh_database,
        settings=stack.settings.model_copy(
            update={"queue_name": name, "database_url": fresh_database}
        ),
    )
    for key, value in mine.env().items():
        if key in ("DATABASE_URL", "REDIS_URL", "QUEUE_NAME"):
            monkeypatch.setenv(key, value)
    get_settings.cache_clear()

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli.main, list(args), catch_exceptions=False)

    yield mine, invoke
    get_settings.cache_clear()
    queue = task_queue.get_queue(task_queue.connect(stack.redis_url), name)
    for job_id in queue.failed_job_registry.get_job_ids():
        queue.failed_job_registry.remove(job_id, delete_job=True)
    queue.delete(delete_jobs=True)


def _enqueue(run: Callable[..., Result], stack: Stack, name: str, path: Path) -> str:
    task_id = stack.task_id(name)
    args = ["enqueue", "--supplier", "backup", "--file", str(path), "--task-id", task_id]
    assert run(*args).exit_code == 0
    return task_id


def test_drain_and_restore_around_a_rollback_with_retries_and_dead_letters(
    own_queue: tuple[Stack, Callable[..., Result]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack, run = own_queue
    conn = task_queue.connect(stack.redis_url)
    queue = task_queue.get_queue(conn, stack.settings.queue_name)
    lists = [
        write_csv(tmp_path / f"l{i}.csv", ["Код;Товар;Цена", f"K{i};Болт;1{i}"]) for i in (1, 2, 3)
    ]

    dead = _enqueue(run, stack, "backup-dead", tmp_path / "gone.csv")  # a real dead letter
    stack.run_worker_burst()
    waiting = [_enqueue(run, stack, f"backup-{i}", path) for i, path in enumerate(lists)]
    # The third one failed once and waits for its retry, as RQ leaves such a task.
    retry = task_queue.Job.fetch(waiting[2], connection=conn)
    queue.remove(retry)
    retry.retries_left = 2
    retry.meta["attempts"] = ["2026-11-28T10:00:00+00:00"]
    retry.save()
    queue.schedule_job(retry, dt.datetime.now(dt.UTC) + dt.timedelta(seconds=25))

    monkeypatch.setenv("QUEUE_DEPTH_WARNING", "1")
    get_settings.cache_clear()
    before = json.loads(run("status", "--json").output)
    assert (before["queued"], before["scheduled_retries"], before["failed"]) == (2, 1, 1)
    assert before["warnings"] == [
        "2 tasks waiting, more than 1 (QUEUE_DEPTH_WARNING)",
        "1 dead letter(s): see `loader dlq list`",
    ]
    assert "WARNING: 1 dead letter(s)" in run("status", "--table").output

    # A live worker could take tasks while they are drained: refused.
    worker = Worker([queue], connection=conn)
    worker.register_birth()
    try:
        refused = CliRunner().invoke(main, ["queue", "drain", str(tmp_path / "backup.jsonl")])
        assert refused.exit_code == 1 and "stop them first" in refused.output
    finally:
        worker.register_death()

    backup = tmp_path / "backup.jsonl"
    drained = run("queue", "drain", str(backup))
    assert "drained 3 task(s)" in drained.output and "1 dead letter(s) left" in drained.output
    assert (queue.count, queue.scheduled_job_registry.count) == (0, 0)
    assert queue.failed_job_registry.get_job_ids() == [dead]
    records = [json.loads(line) for line in backup.read_text().splitlines()]
    assert sorted((r["task_id"], r["was"]) for r in records) == sorted(
        [(waiting[0], "queued"), (waiting[1], "queued"), (waiting[2], "retry")]
    )

    assert "restored 3 task(s); 0 already known" in run("queue", "restore", str(backup)).output
    assert "restored 0 task(s); 3 already known" in run("queue", "restore", str(backup)).output
    assert sorted(queue.get_job_ids()) == sorted(waiting)
    restored = task_queue.Job.fetch(waiting[2], connection=conn)
    assert restored.meta["attempts"] == ["2026-11-28T10:00:00+00:00"]  # its history is kept
    assert restored.retries_left == 3  # and it gets its full retries again

    stack.run_worker_burst()  # the restored tasks run as if never drained
    for task_id in waiting:
        job = task_queue.Job.fetch(task_id, connection=conn)
        result = task_queue.wait(job, 5, database_url=stack.database_url)
        assert result["status"] == "success", task_id
    assert queue.failed_job_registry.get_job_ids() == [dead]


def test_enqueue_wait_shows_progress_then_a_table(
    own_queue: tuple[Stack, Callable[..., Result]], tmp_path: Path
) -> None:
    stack, run = own_queue
    path = write_csv(tmp_path / "p.csv", ["Код;Товар;Цена", "K1;Болт;10", "K2;Гайка;по запросу"])
    worker = subprocess.Popen(
        [sys.executable, "-m", "loader", "worker"],
        env=stack.env(),
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        task_id = stack.task_id("progress")
        result = run(
            "enqueue", "--supplier", "progress", "--file", str(path), "--task-id", task_id,
            "--wait", "--table", "--timeout", "240",
        )  # fmt: skip
    finally:
        stop_worker(worker)
    assert result.exit_code == 0, result.output
    progress = result.stderr.splitlines()
    assert progress[0] == f"task {task_id} enqueued"
    assert f"{task_id}: started, transform (rows landed 2)" in progress
    assert progress[-1] == f"{task_id}: finished"
    table = result.stdout
    assert "status          partial_success" in table
    assert "items accepted  1" in table
    assert "price_unparseable" in table and "e.g." in table
