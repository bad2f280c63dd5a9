"""What happens when the database is away, and that dbt runs never overlap."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from loader import defaults
from loader.exceptions import DatabaseUnavailableError, TransformError
from loader.landing import land
from loader.mapping import map_sheet
from loader.sources import get_source
from loader.task import ParseTask
from loader.transform import _classify, run_dbt, transform
from tests.conftest import Stack
from tests.helpers import write_csv

UNREACHABLE = "postgresql://marketbel:x@127.0.0.1:1/marketbel"


def _task(path: Path, task_id: str) -> ParseTask:
    return ParseTask.parse(
        {
            "task_id": task_id,
            "supplier": {"code": "f"},
            "source": {"type": "csv", "path": str(path)},
        }
    )


def test_landing_on_an_unreachable_database_is_retriable(stack: Stack, tmp_path: Path) -> None:
    task = _task(write_csv(tmp_path / "l.csv", ["Код;Товар;Цена", "1;Гвоздь;2"]), "f-land")
    sheets = [map_sheet(s) for s in get_source("csv").read(task.source)]
    with pytest.raises(DatabaseUnavailableError, match="database unavailable while landing") as err:
        land(task, sheets, UNREACHABLE, stack.settings.work_dir)
    assert err.value.retriable


def test_dbt_on_an_unreachable_database_is_retriable(stack: Stack) -> None:
    with pytest.raises(DatabaseUnavailableError) as err:
        run_dbt(UNREACHABLE, stack.settings, ["run", "--select", "stg_raw__loads"])
    assert err.value.retriable


def test_dbt_errors_that_are_not_about_the_connection_are_permanent() -> None:
    assert isinstance(_classify("int_price_rows__parsed: error division by zero"), TransformError)
    assert isinstance(_classify("could not connect to server"), DatabaseUnavailableError)


def test_a_dbt_run_waits_while_another_holds_the_lock(stack: Stack) -> None:
    outcome: dict[str, object] = {}
    with stack.connect() as holder:
        holder.execute("select pg_advisory_lock(%s)", (defaults.TRANSFORM_LOCK_KEY,))

        def run() -> None:
            outcome["run"] = transform(
                stack.database_url, "no-such-load", "no-such-task", stack.settings
            )

        thread = threading.Thread(target=run)
        thread.start()
        time.sleep(1.0)
        assert thread.is_alive()  # blocked on the lock, not running dbt
        holder.execute("select pg_advisory_unlock(%s)", (defaults.TRANSFORM_LOCK_KEY,))
        thread.join(timeout=120)
    run_info = outcome["run"]
    assert run_info.ran_dbt and run_info.waited_s >= 1.0  # type: ignore[attr-defined]
