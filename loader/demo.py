"""`make demo`: the bundled price lists through Redis, a worker, dlt and dbt, with a summary.

Task ids are derived from each file's content, so running the demo twice enqueues nothing new
and changes nothing: the queue recognises the ids and returns the earlier results.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from loader import defaults, migrate, runtime
from loader import queue as task_queue
from loader.config import PROJECT_ROOT, Settings
from loader.db import connect
from loader.sources import file_source_type
from loader.task import ParseTask

SAMPLES = PROJECT_ROOT / "samples"


def demo_tasks(samples_dir: Path = SAMPLES, prefix: str = "demo") -> list[ParseTask]:
    spec = json.loads((samples_dir / "demo.json").read_text(encoding="utf-8"))
    tasks = []
    for entry in spec["tasks"]:
        path = samples_dir / entry["file"]
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        tasks.append(
            ParseTask.parse(
                {
                    "task_id": f"{prefix}-{entry['supplier']['code']}-{digest}",
                    "supplier": entry["supplier"],
                    "source": {"type": file_source_type(path.name), "path": str(path)},
                }
            )
        )
    return tasks


def run_demo(settings: Settings, out: Any = None, task_prefix: str = "demo") -> int:
    out = out or sys.stdout
    t0 = time.monotonic()
    database_url = runtime.database_url(settings)
    redis_url = runtime.redis_url(settings)
    migrate.upgrade(database_url)
    print(f"database: {_redacted(database_url)}\nredis:    {redis_url}", file=out)

    # The worker's structured logs go to a file so that the summary stays readable.
    log_path = settings.local_state_dir / "demo-worker.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_file = log_path.open("a", encoding="utf-8")
    worker = subprocess.Popen(
        [sys.executable, "-m", "loader", "worker", "--name", f"demo-{os.getpid()}"],
        env={
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "QUEUE_NAME": settings.queue_name,
            "LOG_FORMAT": "json",
        },
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    print(f"worker:   pid {worker.pid}, logs in {log_path}", file=out)
    try:
        conn = task_queue.connect(redis_url)
        queue = task_queue.get_queue(conn, settings.queue_name)
        enqueued = [
            (task, task_queue.enqueue(task, queue)) for task in demo_tasks(prefix=task_prefix)
        ]
        new = sum(1 for _, e in enqueued if e.created)
        print(f"enqueued {new} new task(s); {len(enqueued) - new} already known", file=out)
        outcomes: list[tuple[ParseTask, dict[str, Any] | str]] = []
        for task, e in enqueued:
            try:
                outcomes.append((task, task_queue.wait(e.job, 600, database_url=database_url)))
            except task_queue.TaskFailed as err:
                outcomes.append((task, f"FAILED: {err}"))
    finally:
        worker.send_signal(signal.SIGTERM)  # warm shutdown: finishes the current task
        worker.wait(timeout=120)
        log_file.close()

    _print_summary(outcomes, database_url, out)
    print(f"demo finished in {time.monotonic() - t0:.1f} s", file=out)
    return 0 if all(isinstance(r, dict) for _, r in outcomes) else 1


def _redacted(url: str) -> str:
    from loader.db import DbParams

    p = DbParams.from_url(url)
    return f"postgresql://{p.user}:***@{p.host}:{p.port}/{p.dbname}"


def _print_summary(
    outcomes: list[tuple[ParseTask, dict[str, Any] | str]], database_url: str, out: Any
) -> None:
    print("\nTasks", file=out)
    print(
        f"  {'supplier':18} {'file':44} {'status':16} {'landed':>6} {'items':>6}"
        f" {'rejected':>8} {'skipped':>7}",
        file=out,
    )
    for task, r in outcomes:
        name = Path(task.source.describe()).name[:44]
        if isinstance(r, str):
            print(f"  {task.supplier.code:18} {name:44} {r}", file=out)
            continue
        print(
            f"  {task.supplier.code:18} {name:44} {r['status']:16} {r['rows_landed']:>6} "
            f"{r['items_accepted']:>6} {r['rows_rejected']:>8} {r['rows_skipped']:>7}",
            file=out,
        )
    task_ids = [t.task_id for t, _ in outcomes]
    with connect(database_url, role=defaults.ANALYST_ROLE) as conn:  # what an analyst sees
        items = conn.execute(
            "select supplier_code, count(*), string_agg(distinct coalesce(currency, '?'), ',')"
            " from marts.supplier_items group by 1 order by 1"
        ).fetchall()
        reasons = conn.execute(
            "select rule_code, severity, count(*),"
            " min(format('%%s row %%s: %%s', sheet, row_number, message))"
            " from marts.parsing_logs where task_id = any(%s) group by 1, 2"
            " order by severity, 3 desc, 1",
            (task_ids,),
        ).fetchall()
    print("\nItems per supplier (marts.supplier_items)", file=out)
    for supplier, count, currencies in items:
        print(f"  {supplier:24} {count:>6}  {currencies}", file=out)
    print("\nRows rejected (error) or accepted with a warning (warn), by rule"
          " (marts.parsing_logs)", file=out)  # fmt: skip
    for rule, severity, count, example in reasons:
        print(f"  {rule:20} {severity:5} {count:>4}  e.g. {example}", file=out)
    if not reasons:
        print("  none", file=out)
