"""A queue task that finds another worker's dbt run in progress hands its landing over and
ends; one later run transforms every waiting landing, and the handed-over tasks get their
final results (loader.handover)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from loader import defaults, handover, migrate
from loader import queue as task_queue
from loader.config import Settings, get_settings
from loader.db import DbParams
from loader.jobs import run_task
from loader.landing import land
from loader.mapping import map_sheet
from loader.result import TaskResult
from loader.sources import get_source
from loader.task import ParseTask
from loader.transform import run_dbt, transform
from loader.worker import LoaderWorker
from tests.conftest import Stack
from tests.helpers import write_csv

HEADER = "Артикул;Наименование;Цена"


@pytest.fixture
def db(fresh_database: str, tmp_path: Path) -> tuple[str, Settings]:
    migrate.upgrade(fresh_database)
    return fresh_database, Settings(database_url=fresh_database, local_state_dir=tmp_path / "st")


def _task(task_id: str, supplier: str, path: Path) -> ParseTask:
    return ParseTask.parse(
        {
            "task_id": task_id,
            "supplier": {"code": supplier, "default_currency": "RUB"},
            "source": {"type": "csv", "path": str(path)},
        }
    )


@contextmanager
def dbt_run_in_progress(url: str) -> Iterator[None]:
    """Another worker's dbt run: it holds the transform lock."""
    with psycopg.connect(DbParams.from_url(url).conninfo(), autocommit=True) as holder:
        holder.execute("select pg_advisory_lock(%s)", (defaults.TRANSFORM_LOCK_KEY,))
        yield
        holder.execute("select pg_advisory_unlock(%s)", (defaults.TRANSFORM_LOCK_KEY,))


def _stored(url: str, task_id: str) -> TaskResult:
    with psycopg.connect(DbParams.from_url(url).conninfo()) as conn:
        row = conn.execute(
            "select result from raw.task_results where task_id = %s", (task_id,)
        ).fetchone()
    assert row is not None
    return TaskResult.model_validate(row[0])


def _prices(url: str, supplier: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(DbParams.from_url(url).conninfo()) as conn:
        return conn.execute(
            "select history.supplier_sku, history.price, history.valid_from = loads.received_at"
            " from marts.price_history as history"
            " inner join raw.task_loads as loads on loads._dlt_load_id = history.load_id"
            " where history.supplier_code = %s order by history.supplier_sku",
            (supplier,),
        ).fetchall()


def test_landings_handed_over_during_a_dbt_run_are_transformed_by_one_later_run(
    db: tuple[str, Settings], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, settings = db
    acme = _task("h-acme", "acme", write_csv(tmp_path / "a.csv", [HEADER, "A-1;Болт;10"]))
    beta = _task(
        "h-beta", "beta", write_csv(tmp_path / "b.csv", [HEADER, "B-1;Шуруп;7", "B-2;Гайка;abc"])
    )
    with dbt_run_in_progress(url):
        handed = [run_task(t, url, settings, hand_over=True) for t in (acme, beta)]

    # each ended at once, its rows landed, its counts still to come
    assert [(r.status, r.rows_landed, r.items_accepted, r.load_id is not None) for r in handed] == [
        ("transforming", 1, 0, True),
        ("transforming", 2, 0, True),
    ]
    assert _stored(url, "h-beta").status == "transforming"

    invocations: list[list[str]] = []

    def counted(database_url: str, settings: Settings, args: list[str], **kw: Any) -> Any:
        invocations.append(args)
        return run_dbt(database_url, settings, args, **kw)

    monkeypatch.setattr("loader.transform.run_dbt", counted)
    gamma = _task("h-gamma", "gamma", write_csv(tmp_path / "g.csv", [HEADER, "G-1;Винт;3"]))
    own = run_task(gamma, url, settings, hand_over=True)

    assert own.status == "success"
    assert len(invocations) == 1  # one build took the three landings and their history
    final_acme, final_beta = _stored(url, "h-acme"), _stored(url, "h-beta")
    assert (final_acme.status, final_acme.items_accepted) == ("success", 1)
    assert (final_beta.status, final_beta.items_accepted, final_beta.rows_rejected) == (
        "partial_success",
        1,
        1,
    )
    assert final_beta.rejected_by_rule == {"price_unparseable": 1}
    assert final_beta.message == handover.HANDED_OVER
    assert final_beta.sheets == handed[1].sheets  # what the task read and mapped, kept
    # the history has each handed-over list's prices, from the time that list was received
    assert _prices(url, "acme") == [("A-1", Decimal("10"), True)]
    assert _prices(url, "beta") == [("B-1", Decimal("7"), True)]


def test_a_handed_over_landing_whose_holder_died_is_completed_by_the_next_completion(
    db: tuple[str, Settings], tmp_path: Path
) -> None:
    url, settings = db
    task = _task("h-late", "acme", write_csv(tmp_path / "a.csv", [HEADER, "A-1;Болт;10"]))
    with dbt_run_in_progress(url):  # the holder dies before it completes anything
        assert run_task(task, url, settings, hand_over=True).status == "transforming"
    assert handover.waiting(url) == 1

    assert handover.complete(url, settings) == 1  # a completion job, or the next task, runs it

    assert handover.waiting(url) == 0
    assert (_stored(url, "h-late").status, _stored(url, "h-late").items_accepted) == ("success", 1)


def test_enqueue_wait_returns_a_handed_over_tasks_final_result(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the queue and real workers: the task's job ends `transforming`; the process that
    runs dbt after it is out of time for more rounds and queues a job that completes it; the
    waiting caller gets the final result."""
    queue = task_queue.get_queue(task_queue.connect(stack.redis_url), stack.settings.queue_name)
    path = write_csv(tmp_path / "q.csv", [HEADER, "Q-1;Болт;10", "Q-2;Гайка;5"])
    job = task_queue.enqueue(_task(stack.task_id("h-queued"), "hq", path), queue).job
    with dbt_run_in_progress(stack.database_url):
        stack.run_worker_burst()
    assert job.return_value(refresh=True)["status"] == "transforming"
    with pytest.raises(TimeoutError, match="still transforming"):
        task_queue.wait(job, timeout_s=0.5, database_url=stack.database_url)

    monkeypatch.setattr(handover, "DRAIN_BUDGET_S", -1.0)  # no round here: queue the rest
    assert handover.complete(stack.database_url, stack.settings) == 0
    assert queue.count == 1
    stack.run_worker_burst()

    result = task_queue.wait(job, timeout_s=5, database_url=stack.database_url)
    assert (result["status"], result["items_accepted"], result["rows_landed"]) == ("success", 2, 2)


def test_a_task_landed_twice_before_one_run_took_both_is_logged_and_counted_once(
    db: tuple[str, Settings], tmp_path: Path
) -> None:
    """Its worker died after landing; the retry landed again; one dbt run then took both
    landings (as a run that takes every waiting landing does)."""
    url, settings = db
    path = write_csv(tmp_path / "r.csv", [HEADER, "R-1;Болт;10", "R-2;Гайка;abc"])
    task = _task("h-twice", "acme", path)
    sheets = [map_sheet(s) for s in get_source("csv").read(task.source)]
    first = land(task, sheets, url, settings.work_dir)
    again = land(task, sheets, url, settings.work_dir)

    transform(url, again.load_id, task.task_id, settings)

    with psycopg.connect(DbParams.from_url(url).conninfo()) as conn:
        logged = conn.execute(
            "select row_number, rule_code, load_id from marts.parsing_logs where task_id = %s",
            (task.task_id,),
        ).fetchall()
        counted = conn.execute(
            "select rows_landed, items_accepted, rows_rejected, load_id from marts.task_summaries"
            " where task_id = %s",
            (task.task_id,),
        ).fetchall()
    assert first.load_id != again.load_id
    assert logged == [(3, "price_unparseable", again.load_id)]
    assert counted == [(2, 1, 1, again.load_id)]


def _events(worker: Any, name: str) -> list[dict[str, Any]]:
    """The worker's log events of one kind (LOG_FORMAT=json, one event per line)."""
    lines = (worker.stdout + worker.stderr).splitlines()
    events = [json.loads(line) for line in lines if line.startswith("{")]
    return [e for e in events if e.get("event") == name]


def test_queued_tasks_leave_their_landings_to_the_last_one_which_runs_dbt_once(
    stack: Stack, tmp_path: Path
) -> None:
    """A worker with a backlog: each task that lands while more wait in the queue ends there;
    the last one's dbt run transforms all three lists, and each task gets its final result."""
    queue = task_queue.get_queue(task_queue.connect(stack.redis_url), stack.settings.queue_name)
    lists = {
        "qa": [HEADER, "A-1;Болт;10", "A-2;Гайка;5"],
        "qb": [HEADER, "B-1;Шуруп;7", "B-2;Винт;abc"],
        "qc": [HEADER, "C-1;Шайба;1"],
    }
    jobs = [
        task_queue.enqueue(
            _task(stack.task_id(f"h-{code}"), code, write_csv(tmp_path / f"{code}.csv", rows)),
            queue,
        ).job
        for code, rows in lists.items()
    ]

    worker = stack.run_worker_burst()

    assert [job.return_value(refresh=True)["status"] for job in jobs] == [
        "transforming",
        "transforming",
        "success",
    ]
    assert [e["transformed_by"] for e in _events(worker, "task_handed_over")] == [
        "a later task",
        "a later task",
    ]
    assert len(_events(worker, "task_done")) == 1  # one task ran dbt, for all three
    finals = [task_queue.wait(job, 5, database_url=stack.database_url) for job in jobs]
    assert [(r["status"], r["items_accepted"], r["rows_rejected"]) for r in finals] == [
        ("success", 2, 0),
        ("partial_success", 1, 1),
        ("success", 1, 0),
    ]
    assert finals[1]["rejected_by_rule"] == {"price_unparseable": 1}
    # `loader status` shows the final results, where the queue alone knows `transforming`
    queue_only, with_db = (
        {t["task_id"]: t["status"] for t in task_queue.status(
            queue.connection, queue.name, 10, database_url=url
        )["last_tasks"]}
        for url in (None, stack.database_url)
    )  # fmt: skip
    assert [queue_only[job.id] for job in jobs] == ["transforming", "transforming", "success"]
    assert [with_db[job.id] for job in jobs] == ["success", "partial_success", "success"]
    assert _prices(stack.database_url, "qa") == [
        ("A-1", Decimal("10"), True),
        ("A-2", Decimal("5"), True),
    ]


def test_landings_left_to_a_task_that_fails_are_transformed_by_the_job_it_queues(
    stack: Stack, tmp_path: Path
) -> None:
    """The last task of the backlog reads nothing (its file is missing) and runs no dbt: it
    queues the job that transforms the landing left to it, and that job completes its result."""
    queue = task_queue.get_queue(task_queue.connect(stack.redis_url), stack.settings.queue_name)
    good = _task(
        stack.task_id("h-left"), "ql", write_csv(tmp_path / "l.csv", [HEADER, "L-1;Болт;3"])
    )
    missing = _task(stack.task_id("h-missing"), "qm", tmp_path / "missing.csv")
    jobs = [task_queue.enqueue(task, queue).job for task in (good, missing)]

    worker = stack.run_worker_burst()

    assert jobs[0].return_value(refresh=True)["status"] == "transforming"
    assert jobs[1].get_status(refresh=True) == "failed"
    assert len(_events(worker, "handed_over_results_queued")) == 1
    result = task_queue.wait(jobs[0], 5, database_url=stack.database_url)
    assert (result["status"], result["items_accepted"]) == ("success", 1)
    assert handover.waiting(stack.database_url) == 0
    shown = task_queue.status(queue.connection, queue.name, 3, database_url=stack.database_url)
    assert [t["status"] for t in shown["last_tasks"]] == [
        "completed 1 handed-over result(s)",
        "failed",
        "success",
    ]


def test_a_worker_whose_task_process_died_queues_the_job_for_what_was_left_to_it(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The task process that was to transform a landing left to it died (killed, out of
    memory), and no task is queued after it: its worker queues the completion job."""
    url = stack.database_url
    path = write_csv(tmp_path / "o.csv", [HEADER, "O-1;Болт;4"])
    task = _task(stack.task_id("h-orphan"), "qo", path)
    with dbt_run_in_progress(url):  # its landing left to a run whose process then dies
        assert run_task(task, url, stack.settings, hand_over=True).status == "transforming"
    queue = task_queue.get_queue(task_queue.connect(stack.redis_url), stack.settings.queue_name)
    assert queue.count == 0
    for name, value in stack.env().items():  # the worker process's configuration
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        died = task_queue.Job.create("loader.jobs.process_task", connection=queue.connection)
        LoaderWorker([queue], connection=queue.connection).handle_work_horse_killed(
            died, 0, 9, None
        )
    finally:
        get_settings.cache_clear()

    assert [job.func_name for job in queue.get_jobs()] == ["loader.handover.complete_queued"]
    stack.run_worker_burst()
    assert (_stored(url, task.task_id).status, _stored(url, task.task_id).items_accepted) == (
        "success",
        1,
    )
