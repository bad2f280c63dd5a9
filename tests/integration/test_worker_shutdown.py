"""The worker's shutdown never hangs on RQ's scheduler process."""

from __future__ import annotations

import multiprocessing
import multiprocessing.synchronize
import signal
import threading
import time
from types import SimpleNamespace

import pytest

from loader import queue as task_queue
from loader import worker as worker_module
from loader.worker import LoaderWorker
from tests.conftest import Stack


def _ignore_sigterm(ready: multiprocessing.synchronize.Event) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # what a SIGTERM lost in RQ's race looks like
    ready.set()
    time.sleep(600)


def test_a_scheduler_that_missed_its_sigterm_is_killed(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker_module, "SCHEDULER_STOP_S", 0.5)
    context = multiprocessing.get_context("fork")
    ready = context.Event()
    scheduler = context.Process(target=_ignore_sigterm, args=(ready,))
    scheduler.start()
    assert ready.wait(10)
    worker = LoaderWorker(
        [stack.settings.queue_name], connection=task_queue.connect(stack.redis_url)
    )
    worker.scheduler = SimpleNamespace(_process=scheduler)  # type: ignore[assignment]

    started = time.monotonic()
    stopping = threading.Thread(target=worker.stop_scheduler, daemon=True)
    stopping.start()
    stopping.join(30)  # RQ's own stop_scheduler would wait here forever
    try:
        assert not stopping.is_alive(), "the worker hangs on its scheduler"
    finally:
        if scheduler.is_alive():
            scheduler.kill()

    assert not scheduler.is_alive()
    assert scheduler.exitcode == -signal.SIGKILL
    assert time.monotonic() - started < 10
