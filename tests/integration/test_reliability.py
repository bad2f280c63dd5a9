"""Fault injection with real worker processes: nothing lost, nothing doubled.

Every scenario runs in its own database and queue and ends compared, table by table, with a
clean run of the same tasks.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from rq.job import Job, JobStatus

from loader import cli, local_services, migrate
from loader import queue as task_queue
from loader.config import PROJECT_ROOT, Settings, get_settings
from loader.db import create_database, drop_database
from loader.jobs import attempts
from loader.task import ParseTask
from tests.conftest import Stack
from tests.helpers import write_csv

BASE_TIME = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
SUPPLIERS = ["alfa", "beta", "gamma", "delta", "omega"]


def price_list(path: Path, version: int) -> Path:
    lines = ["Прайс-лист", "Артикул;Наименование;Цена, руб.;Остаток", "Крепёж"]
    lines += [f"S{n};Товар {n};{100 * n + version},50;{n * version}" for n in range(1, 7)]
    if version % 2:
        lines.append("S7;Товар 7 (только в нечётных версиях);77,00;1")
    lines.append(f"S8;Товар по запросу;по запросу;{version}")
    return write_csv(path, lines)


def make_tasks(tmp: Path, prefix: str, suppliers: list[str], versions: int) -> list[ParseTask]:
    """Versions of each supplier's list, interleaved, submitted one second apart."""
    tasks = []
    for version in range(1, versions + 1):
        for supplier in suppliers:
            i = len(tasks)
            path = price_list(tmp / f"{supplier}-v{version}.csv", version)
            tasks.append(
                ParseTask.parse(
                    {
                        "task_id": f"{prefix}-{supplier}-v{version}",
                        "supplier": {"code": supplier, "default_currency": "RUB"},
                        "source": {"type": "csv", "path": str(path)},
                        "submitted_at": (BASE_TIME + dt.timedelta(seconds=i)).isoformat(),
                    }
                )
            )
    return tasks


def snapshot(stack: Stack, prefix: str) -> dict[str, list[tuple[Any, ...]]]:
    """What a user sees, with this run's task-id prefix removed and landing times left out."""
    strip = f"replace(%s, '{prefix}-', '')"
    queries = {
        "supplier_items": "select supplier_code, supplier_sku, name, price, currency,"
        f" characteristics, {strip % 'last_task_id'} from marts.supplier_items order by 1, 2",
        "parsing_logs": f"select {strip % 'task_id'}, sheet, row_number, rule_code, message,"
        " raw_value from marts.parsing_logs order by 1, 2, 3, 4",
        "task_summaries": f"select {strip % 'task_id'}, rows_landed, items_accepted, rows_rejected,"
        " rows_skipped from marts.task_summaries order by 1",
    }
    with stack.connect() as conn:
        return {name: conn.execute(q).fetchall() for name, q in queries.items()}


class StackMaker:
    """Makes fresh stacks (own database, own queue) and drops them at the end."""

    def __init__(self, admin_url: str, base_settings: Settings) -> None:
        self.admin_url, self.base_settings, self.made = admin_url, base_settings, []

    def __call__(self) -> Stack:
        run_id = uuid.uuid4().hex[:10]
        url = create_database(self.admin_url, f"mb_test_{run_id}")
        migrate.upgrade(url)
        base = self.base_settings
        settings = base.model_copy(
            update={
                "database_url": url,
                "queue_name": f"test-{run_id}",
                "redis_url": base.redis_url or local_services.ensure_redis(base.local_state_dir),
            }
        )
        stack = Stack(
            database_url=url, redis_url=settings.redis_url or "", settings=settings, run_id=run_id
        )
        self.made.append(stack)
        return stack

    def drop_all(self) -> None:
        for stack in self.made:
            task_queue.delete_queue(stack.redis_url, stack.settings.queue_name)
            drop_database(self.admin_url, f"mb_test_{stack.run_id}")


@pytest.fixture
def new_stack(admin_url: str, base_settings: Settings) -> Iterator[Callable[[], Stack]]:
    maker = StackMaker(admin_url, base_settings)
    yield maker
    maker.drop_all()


class Workers:
    """Real worker processes, each in its own session so that a test can kill all it started."""

    def __init__(
        self, stack: Stack, count: int, burst: bool = False, measured: bool = True, **env: str
    ) -> None:
        args = [sys.executable, "-m", "loader", "worker"] + (["--burst"] if burst else [])
        base = stack.env()
        if not measured:  # no coverage tracing: a load test, whose code other tests measure
            base = {k: v for k, v in base.items() if not k.startswith("COVERAGE_")}
        self.procs = [
            subprocess.Popen(
                args,
                env={**base, **env},
                cwd=PROJECT_ROOT,
                start_new_session=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(count)
        ]

    def ready(self, stack: Stack, timeout: float = 120) -> Workers:
        """Until every worker has warmed up and listens to the queue."""
        queue = task_queue.get_queue(task_queue.connect(stack.redis_url), stack.settings.queue_name)
        deadline = time.monotonic() + timeout
        while len(task_queue.Worker.all(queue=queue)) < len(self.procs):
            assert time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.2)
        return self

    def wait(self, timeout: float = 300) -> None:
        for proc in self.procs:
            proc.wait(timeout=timeout)

    def kill_all(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # the worker, its scheduler, any job process
            proc.wait(timeout=30)


def enqueue_all(stack: Stack, tasks: list[ParseTask]) -> list[Job]:
    queue = task_queue.get_queue(task_queue.connect(stack.redis_url), stack.settings.queue_name)
    return [task_queue.enqueue(t, queue).job for t in tasks]


def wait_finished(jobs: list[Job], timeout: float = 180, database_url: str | None = None) -> None:
    """Until every job has finished; with database_url, until every task has its final result
    too (a task that handed its landing to another worker's dbt run finishes first)."""
    deadline = time.monotonic() + timeout
    for job in jobs:
        while job.get_status(refresh=True) != JobStatus.FINISHED:
            assert job.get_status() != JobStatus.FAILED, task_queue.last_error(job)
            assert time.monotonic() < deadline, f"{job.id} still {job.get_status()}"
            time.sleep(0.2)
        if database_url is not None:
            left = max(0.1, deadline - time.monotonic())
            task_queue.wait(job, timeout_s=left, poll_s=0.2, database_url=database_url)


@pytest.fixture(scope="module")
def clean_run(
    admin_url: str, base_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[list[ParseTask], dict[str, Any]]]:
    """Two versions of one supplier's list, processed with no fault at all: the state every
    fault test must end in. Computed once for the module."""
    maker = StackMaker(admin_url, base_settings)
    stack = maker()
    prefix = f"clean-{stack.run_id}"
    tasks = make_tasks(tmp_path_factory.mktemp("clean"), prefix, ["fault"], versions=2)
    jobs = enqueue_all(stack, tasks)
    Workers(stack, 1, burst=True).wait()
    wait_finished(jobs, timeout=5, database_url=stack.database_url)
    yield tasks, snapshot(stack, prefix)
    maker.drop_all()


def same_tasks(tasks: list[ParseTask], prefix: str) -> list[ParseTask]:
    old = tasks[0].task_id.rsplit("-fault-", 1)[0]
    return [t.model_copy(update={"task_id": t.task_id.replace(old, prefix)}) for t in tasks]


@pytest.mark.parametrize("stage", ["read", "land", "transform", "report"])
def test_a_killed_worker_loses_nothing(
    stage: str,
    new_stack: Callable[[], Stack],
    tmp_path: Path,
    clean_run: tuple[list[ParseTask], dict[str, Any]],
) -> None:
    tasks, expected = clean_run
    stack = new_stack()
    prefix = f"kill-{stack.run_id}"
    marker = tmp_path / "fault-fired"
    # Warmed up first: a worker's warm-up holds the transform lock for a moment, and tasks that
    # find it held hand their landings over; one of the two must run dbt itself.
    workers = Workers(stack, 2, LOADER_FAULT=f"kill@{stage}", LOADER_FAULT_ONCE=str(marker))
    try:
        workers.ready(stack)
        jobs = enqueue_all(stack, same_tasks(tasks, prefix))
        wait_finished(jobs, timeout=150, database_url=stack.database_url)
    finally:
        workers.kill_all()

    assert marker.exists(), "the fault never fired"
    killed_at = dt.datetime.fromtimestamp(marker.stat().st_mtime, dt.UTC)
    [killed] = [job for job in jobs if len(attempts(job)) > 1]  # only the killed task ran twice
    recovery_s = (attempts(killed)[1] - killed_at).total_seconds()
    print(f"kill@{stage}: the task ran again {recovery_s:.1f} s after the kill")
    # Alone this is 10-40 s (the survivor's guardian or RQ's registry clean-up). The bound is
    # loose because `make test` runs two test files at once on two cores.
    assert recovery_s < 120
    assert snapshot(stack, prefix) == expected


def test_a_dropped_database_connection_is_retried_cleanly(
    new_stack: Callable[[], Stack],
    tmp_path: Path,
    clean_run: tuple[list[ParseTask], dict[str, Any]],
) -> None:
    tasks, expected = clean_run
    stack = new_stack()
    prefix = f"drop-{stack.run_id}"
    jobs = enqueue_all(stack, same_tasks(tasks, prefix))
    workers = Workers(
        stack, 1, LOADER_FAULT="drop_db@transform", LOADER_FAULT_ONCE=str(tmp_path / "m")
    )
    try:
        wait_finished(jobs, timeout=120, database_url=stack.database_url)
    finally:
        workers.kill_all()
    assert sorted(len(attempts(j)) for j in jobs) == [1, 2]  # the hit task ran once more
    assert snapshot(stack, prefix) == expected


def test_five_workers_give_the_state_one_worker_gives(
    new_stack: Callable[[], Stack], tmp_path: Path
) -> None:
    serial, parallel = new_stack(), new_stack()
    serial_prefix, parallel_prefix = f"serial-{serial.run_id}", f"par-{parallel.run_id}"
    suppliers = SUPPLIERS[:3]  # 12 lists, more workers than suppliers: they do race
    serial_jobs = enqueue_all(serial, make_tasks(tmp_path, serial_prefix, suppliers, versions=4))
    parallel_jobs = enqueue_all(
        parallel, make_tasks(tmp_path, parallel_prefix, suppliers, versions=4)
    )
    assert len(serial_jobs) == len(parallel_jobs) == 12

    Workers(serial, 1, burst=True, measured=False).wait()
    Workers(parallel, 5, burst=True, measured=False).wait()
    wait_finished(serial_jobs, timeout=5, database_url=serial.database_url)
    wait_finished(parallel_jobs, timeout=5, database_url=parallel.database_url)

    expected = snapshot(serial, serial_prefix)
    assert len(expected["supplier_items"]) == 3 * 7  # S7 of odd versions stays from v3
    assert snapshot(parallel, parallel_prefix) == expected


def test_dead_letters_can_be_listed_and_requeued_with_fresh_retries(
    new_stack: Callable[[], Stack], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = new_stack()
    late_file = tmp_path / "late.csv"
    task = ParseTask.parse(
        {
            "task_id": f"dlq-{stack.run_id}",
            "supplier": {"code": "late"},
            "source": {"type": "csv", "path": str(late_file)},
        }
    )
    [job] = enqueue_all(stack, [task])
    Workers(stack, 1, burst=True).wait()
    assert job.get_status(refresh=True) == JobStatus.FAILED

    for key in ("DATABASE_URL", "REDIS_URL", "QUEUE_NAME"):
        monkeypatch.setenv(key, stack.env()[key])
    get_settings.cache_clear()
    listing = CliRunner().invoke(cli.main, ["dlq", "list"]).output
    assert "1 dead-lettered task(s)" in listing and "late.csv: file not found" in listing
    assert '"attempts": 1' in CliRunner().invoke(cli.main, ["dlq", "show", task.task_id]).output

    price_list(late_file, 1)  # the supplier sends the file after all
    assert (
        f"requeued {task.task_id}"
        in CliRunner().invoke(cli.main, ["dlq", "requeue", "--all"]).output
    )
    job.refresh()
    assert job.retries_left == 3  # fresh retries, not the exhausted count
    Workers(stack, 1, burst=True).wait()
    assert task_queue.wait(job, timeout_s=5)["items_accepted"] == 7
    assert "0 dead-lettered task(s)" in CliRunner().invoke(cli.main, ["dlq", "list"]).output
    assert CliRunner().invoke(cli.main, ["dlq", "requeue", "nope"]).exit_code == 1
    get_settings.cache_clear()


def test_a_task_enqueued_twice_runs_once(new_stack: Callable[[], Stack], tmp_path: Path) -> None:
    stack = new_stack()
    [task] = make_tasks(tmp_path, f"twice-{stack.run_id}", ["twice"], versions=1)
    first, second = enqueue_all(stack, [task, task])
    Workers(stack, 1, burst=True).wait()
    again = enqueue_all(stack, [task])[0]
    Workers(stack, 1, burst=True).wait()
    assert first.id == second.id == again.id
    assert len(attempts(first)) == 1


def test_queued_tasks_survive_a_redis_restart(
    new_stack: Callable[[], Stack], tmp_path: Path
) -> None:
    stack = new_stack()
    state = tmp_path / "redis-state"
    redis_url = local_services.ensure_redis(state)
    own = Stack(
        stack.database_url,
        redis_url,
        stack.settings.model_copy(update={"redis_url": redis_url}),
        stack.run_id,
    )
    [task] = make_tasks(tmp_path, f"restart-{stack.run_id}", ["restart"], versions=1)
    enqueue_all(own, [task])

    local_services.stop_redis(state)
    assert not local_services.redis_answers(redis_url)
    assert local_services.ensure_redis(state) == redis_url

    queue = task_queue.get_queue(task_queue.connect(redis_url), own.settings.queue_name)
    assert queue.job_ids == [task.task_id]
    own.run_worker_burst()
    assert (
        task_queue.wait(Job.fetch(task.task_id, connection=queue.connection), timeout_s=5)[
            "items_accepted"
        ]
        == 7
    )
    local_services.stop_redis(state)
