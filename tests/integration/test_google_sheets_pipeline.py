"""A Google Sheet end to end: enqueued through Redis, read by a real worker process from the
Sheets API stand-in, landed with dlt and modelled by dbt."""

from __future__ import annotations

import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner
from rq.job import JobStatus

from loader import cli
from loader import queue as task_queue
from loader.config import PROJECT_ROOT, get_settings
from loader.jobs import attempts
from tests.conftest import SERVICE_ACCOUNT_EMAIL, Stack
from tests.fakegoogle import Cell, FakeGoogle, Grid, Spreadsheet
from tests.fakegoogle.server import quota_error
from tests.helpers import stop_worker, supplier_items_of

KEY = "1PipelineSheet0123456789abcdefghijklm"


def add_price_list(fake: FakeGoogle, shared: bool = True) -> None:
    fake.add(
        Spreadsheet(
            KEY,
            "Прайс Электро",
            [
                Grid(
                    "Кабель",
                    [
                        ["ООО «Электро-Опт»"],
                        ["Прайс на 01.11.2026"],
                        ["Артикул", "Наименование", "Цена, руб.", "Остаток"],
                        ["Кабель силовой"],
                        ["000451", "ВВГнг 3х2,5", Cell(1165, "1 165,00 ₽"), 340],
                        ["8085807E40", "ВВГнг 3х4", Cell(1890.5, "1 890,50 ₽"), 12],
                        ["Провод"],
                        [Cell(452, "000452"), "ПуГВ 1х1,5", Cell(25, "25,00 ₽"), 0],
                    ],
                    merges=[(3, 4, 0, 4), (6, 7, 0, 4)],
                ),
                Grid(
                    "Розетки",
                    [
                        ["Код", "Товар", "Цена, руб."],
                        ["R-1", "Розетка двойная", Cell(189.9, "189,90 ₽")],
                    ],
                ),
            ],
            shared_with={SERVICE_ACCOUNT_EMAIL} if shared else set(),
        )
    )


def enqueue(stack: Stack, task_id: str, supplier: str, credentials: Path) -> str:
    result = CliRunner().invoke(
        cli.main,
        [
            "enqueue",
            "--supplier",
            supplier,
            "--google-sheet",
            f"https://docs.google.com/spreadsheets/d/{KEY}/edit#gid=0",
            "--credentials",
            str(credentials),
            "--task-id",
            stack.task_id(task_id),
        ],
        env={
            "REDIS_URL": stack.redis_url,
            "DATABASE_URL": stack.database_url,
            "QUEUE_NAME": stack.settings.queue_name,
        },
        catch_exceptions=False,
    )
    assert "enqueued" in result.output
    get_settings.cache_clear()
    return stack.task_id(task_id)


def test_a_google_sheet_through_the_queue_into_supplier_items(
    stack: Stack, fake_google: FakeGoogle, service_account: Path
) -> None:
    add_price_list(fake_google)
    task_id = enqueue(stack, "gs-e2e", "gs-electro", service_account)

    stack.run_worker_burst()

    job = task_queue.Job.fetch(task_id, connection=task_queue.connect(stack.redis_url))
    result = task_queue.wait(job, timeout_s=5)
    assert (
        result["status"],
        result["rows_landed"],
        result["items_accepted"],
        result["rows_skipped"],
    ) == (
        "success",
        6,
        4,
        2,
    )
    assert supplier_items_of(stack, "gs-electro") == [
        (
            "000451",
            "ВВГнг 3х2,5",
            Decimal("1165"),
            "RUB",
            {"category": "Кабель силовой", "stock": 340},
        ),
        ("000452", "ПуГВ 1х1,5", Decimal("25"), "RUB", {"category": "Провод", "stock": 0}),
        (
            "8085807E40",
            "ВВГнг 3х4",
            Decimal("1890.5"),
            "RUB",
            {"category": "Кабель силовой", "stock": 12},
        ),
        ("R-1", "Розетка двойная", Decimal("189.9"), "RUB", {}),
    ]


def test_a_sheet_that_is_not_shared_fails_at_once_naming_the_account(
    stack: Stack, fake_google: FakeGoogle, service_account: Path
) -> None:
    add_price_list(fake_google, shared=False)
    task_id = enqueue(stack, "gs-403", "gs-private", service_account)
    stack.run_worker_burst()
    job = task_queue.Job.fetch(task_id, connection=task_queue.connect(stack.redis_url))
    assert job.get_status() == JobStatus.FAILED
    assert f"Share the spreadsheet with {SERVICE_ACCOUNT_EMAIL}" in task_queue.last_error(job)
    assert len(attempts(job)) == 1  # permanent: no retries


def test_quota_forever_retries_boundedly_then_dead_letters(
    stack: Stack, fake_google: FakeGoogle, service_account: Path
) -> None:
    add_price_list(fake_google)
    fake_google.inject(lambda m, p, q: "batchGet" in p, 429, quota_error(), times=10_000)
    task_id = enqueue(stack, "gs-429", "gs-quota", service_account)
    conn = task_queue.connect(stack.redis_url)
    env = {**stack.env(), "GOOGLE_BACKOFF_BASE_S": "0"}  # the queue's 1/5/25 s retries are real
    worker = subprocess.Popen(
        [sys.executable, "-m", "loader", "worker"],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        job = task_queue.Job.fetch(task_id, connection=conn)
        deadline = time.monotonic() + 120
        while job.get_status(refresh=True) != JobStatus.FAILED and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        stop_worker(worker)

    assert job.get_status() == JobStatus.FAILED
    queue = task_queue.get_queue(conn, stack.settings.queue_name)
    assert task_id in queue.failed_job_registry.get_job_ids()  # the dead-letter place
    assert "answered 429 after 4 attempts" in task_queue.last_error(job)
    # The queue's retries came 1 s, 5 s and 25 s after each failed attempt (the scheduler polls
    # every second; each attempt itself takes a moment).
    starts = attempts(job)
    gaps = [(b - a).total_seconds() for a, b in zip(starts, starts[1:], strict=False)]
    assert len(starts) == 4
    for gap, interval in zip(gaps, [1, 5, 25], strict=True):
        # RQ stores a retry's due time in whole seconds (truncated), so it may come up to 1 s
        # before the interval has fully passed since the failure.
        assert interval - 1 <= gap <= interval + 4, gaps
    # 1 run + 3 queue retries, each making 4 bounded attempts at the first batch read.
    assert len(fake_google.requests("batchGet")) == 4 * 4
    with stack.connect() as conn:  # nothing of the list landed
        landed = conn.execute(
            "select count(*) from raw.price_rows where supplier_code = 'gs-quota'"
        ).fetchone()
    assert landed == (0,)
