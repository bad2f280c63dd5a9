"""The command line as an operator uses it, and `make demo`'s job."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from click.testing import CliRunner

from loader import cli
from loader.config import PROJECT_ROOT
from loader.demo import run_demo
from tests.conftest import Stack
from tests.helpers import write_csv

LINES = ["Артикул;Наименование;Цена", "A-1;Гвоздь строительный;1,50", "A-2;Шуруп;по запросу"]


def test_enqueue_worker_status_and_wait(run, stack: Stack, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_csv(tmp_path / "nails.csv", LINES)
    task_id = stack.task_id("cli-nails")
    args = [
        "enqueue",
        "--supplier",
        "cli-nails",
        "--currency",
        "RUB",
        "--file",
        str(path),
        "--task-id",
        task_id,
    ]

    assert f"task {task_id} enqueued" in run(*args).output
    assert "already known (queued)" in run(*args).output  # the same task id is not queued twice
    status = json.loads(run("status", "--json").output)
    assert (status["queue"], status["queued"]) == (stack.settings.queue_name, 1)

    stack.run_worker_burst()

    waited = run(*args, "--wait")
    result = json.loads(waited.output[waited.output.index("{") :])
    assert (result["status"], result["items_accepted"], result["rejected_by_rule"]) == (
        "partial_success",
        1,
        {"price_unparseable": 1},
    )
    text = run("status", "--table").output
    assert f"queue {stack.settings.queue_name}: 0 queued" in text
    assert task_id in text and "partial_success items=1 rejected=1" in text


def test_enqueue_wait_reports_a_failed_task(run, stack: Stack, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    task_id = stack.task_id("cli-missing")
    run(
        "enqueue",
        "--supplier",
        "cli-missing",
        "--file",
        str(tmp_path / "gone.csv"),
        "--task-id",
        task_id,
    )
    stack.run_worker_burst()
    result = CliRunner().invoke(
        cli.main,
        [
            "enqueue",
            "--supplier",
            "cli-missing",
            "--file",
            str(tmp_path / "gone.csv"),
            "--task-id",
            task_id,
            "--wait",
        ],
    )
    assert result.exit_code == 1
    assert f"task {task_id} failed" in result.output and "gone.csv: file not found" in result.output
    assert "gone.csv: file not found" in run("status", "--table").output


def test_ingest_in_process(run, stack: Stack, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_csv(tmp_path / "nails.csv", LINES)
    ok = run(
        "ingest",
        "--supplier",
        "cli-ingest",
        "--file",
        str(path),
        "--task-id",
        stack.task_id("cli-ingest"),
    )
    assert json.loads(ok.output[ok.output.index("{\n") :])["items_accepted"] == 1

    message = tmp_path / "task.json"
    message.write_text(
        json.dumps(
            {
                "task_id": stack.task_id("cli-msg"),
                "supplier": {"code": "cli-msg"},
                "source": {
                    "type": "csv",
                    "path": str(write_csv(tmp_path / "bad.csv", [LINES[0], "A-9;Шуруп;0"])),
                },
            }
        )
    )
    failed = CliRunner().invoke(cli.main, ["ingest", "--message", str(message)])
    assert failed.exit_code == 1  # every row rejected: the task failed
    assert '"status": "failed"' in failed.output

    missing = CliRunner().invoke(
        cli.main, ["ingest", "--supplier", "x", "--file", str(tmp_path / "no.csv")]
    )
    assert missing.exit_code == 1
    assert "source_not_found" in missing.output and "no.csv: file not found" in missing.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--supplier", "x", "--file", "list.pdf"], "unknown file type '.pdf'"),
        (["--supplier", "x"], "give --message FILE, or --supplier and --file"),
        (
            ["--supplier", "x", "--file", "l.csv", "--override", "no-equals-sign"],
            "expected HEADER=TARGET",
        ),
    ],
)
def test_usage_errors(run, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(cli.main, ["enqueue", *args])
    assert result.exit_code == 2 and message in result.output


def test_invalid_task_is_refused_on_enqueue(run) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(cli.main, ["enqueue", "--supplier", "Not Valid", "--file", "l.csv"])
    assert result.exit_code == 1 and "supplier.code" in result.output


def test_schema_and_migrate_commands(run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    assert "schemas up to date" in run("schema", "--check").output
    monkeypatch.setattr(cli, "SCHEMA_DIR", tmp_path)
    assert CliRunner().invoke(cli.main, ["schema", "--check"]).exit_code == 1
    run("schema")
    assert json.loads((tmp_path / "parse_task.schema.json").read_text())["title"] == "ParseTask"
    result_schema = json.loads((tmp_path / "task_result.schema.json").read_text())
    assert result_schema["title"] == "TaskResult"
    assert "needs_review" in result_schema["properties"]["status"]["enum"]
    head = ScriptDirectory(str(PROJECT_ROOT / "migrations")).get_current_head()
    assert f"database at revision {head}" in run("migrate", "up").output
    assert "export DATABASE_URL=" in run("services", "up").output


def test_demo_ingests_every_sample_and_a_second_run_changes_nothing(stack: Stack) -> None:
    prefix = f"demo-{stack.run_id}"
    first = io.StringIO()
    assert run_demo(stack.settings, out=first, task_prefix=prefix) == 0
    report = first.getvalue()
    assert "enqueued 9 new task(s)" in report
    for supplier in (
        "stroymarket",
        "gadgets",
        "electro",
        "avtopro",
        "cooler-by",
        "alert-stationers",
        "metro-produce",
        "auto-accessories",
        "bazarlagbe",
    ):
        assert supplier in report
    assert (
        "price_unparseable" in report
        and "Крепёж row 10: price 'по запросу' is not a number" in report
    )

    with stack.connect() as conn:
        snapshot = (
            "select json_agg(t order by supplier_code, supplier_sku) from marts.supplier_items t"
        )
        items_before = conn.execute(snapshot).fetchone()
        logs_before = conn.execute("select count(*) from marts.parsing_logs").fetchone()

    second = io.StringIO()
    assert run_demo(stack.settings, out=second, task_prefix=prefix) == 0
    assert "enqueued 0 new task(s); 9 already known" in second.getvalue()
    with stack.connect() as conn:
        assert conn.execute(snapshot).fetchone() == items_before
        assert conn.execute("select count(*) from marts.parsing_logs").fetchone() == logs_before
    tasks_table = lambda text: text[text.index("Tasks") : text.index("demo finished")]  # noqa: E731
    assert tasks_table(second.getvalue()) == tasks_table(report)
