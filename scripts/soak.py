"""Soak test (`make soak`, outside CI): mixed price-list tasks for a while, with workers
SIGKILLed at random and Redis and PostgreSQL restarted, then checks that

- every task ended (finished, or dead-lettered for a permanent reason), after an operator-style
  `dlq requeue` of tasks that exhausted their retries during the chaos;
- the database equals a clean, serial, fault-free run of the same tasks, table by table;
- worker memory and database connection counts stayed flat.

It runs on the project-local PostgreSQL and Redis (it restarts them), in a database and queue of
its own. Prints one JSON document; exits 1 when a check fails.

    SOAK_MINUTES=20 make soak           # the compressed form
    SOAK_MINUTES=1440 make soak         # the original plan's 24 hours (see README, Runbook)
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from rq.job import Job, JobStatus

from loader import dead_letters, handover, local_services, migrate
from loader import queue as task_queue
from loader.config import PROJECT_ROOT, Settings
from loader.db import DbParams
from loader.exceptions import LoaderError
from loader.task import ParseTask

SUPPLIERS = ["alfa", "beta", "gamma", "delta", "epsilon", "zeta"]
BASE_TIME = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def price_list(path: Path, version: int, rng: random.Random) -> Path:
    lines = ["Прайс-лист", "Артикул;Наименование;Цена, руб.;Остаток", "Раздел"]
    for n in range(1, 41):
        if rng.random() < 0.9:
            lines.append(f"S{n:03d};Товар {n};{100 * n + version},{rng.randint(0, 99):02d};{n}")
    lines.append(f"BAD;Товар по запросу;по запросу;{version}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _handed_over_waiting(db: str) -> int:
    """Tasks that finished on the queue after handing their landings to a dbt run that has not
    written their results yet (loader.handover); -1 while the database is away."""
    try:
        return handover.waiting(db)
    except (LoaderError, psycopg.Error):
        return -1


class Soak:
    def __init__(self, minutes: float, workers: int, seed: int) -> None:
        self.settings = Settings()
        if self.settings.database_url or self.settings.redis_url:
            sys.exit(
                "soak restarts the servers: run it on the project-local ones (unset DATABASE_URL and REDIS_URL)"
            )
        self.rng = random.Random(seed)
        self.minutes, self.n_workers = minutes, workers
        self.run_id = uuid.uuid4().hex[:8]
        self.state = self.settings.local_state_dir
        self.admin_url = local_services.ensure_postgres(self.state)
        self.redis_url = local_services.ensure_redis(self.state)
        self.dir = self.state / "soak" / self.run_id
        self.dir.mkdir(parents=True)
        self.db = self._database(f"soak_{self.run_id}")
        self.ref_db = self._database(f"soak_ref_{self.run_id}")
        self.queue_name = f"soak-{self.run_id}"
        self.specs: list[dict[str, Any]] = []
        self.workers: list[subprocess.Popen[bytes]] = []
        self.events: list[tuple[float, str]] = []
        self.samples: list[dict[str, float]] = []

    def _database(self, name: str) -> str:
        admin = DbParams.from_url(self.admin_url)
        with psycopg.connect(admin.conninfo(), autocommit=True) as conn:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        url = DbParams(admin.host, admin.port, admin.user, admin.password, name).conninfo()
        migrate.upgrade(url)
        return url

    def env(self, db: str, queue: str) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": db,
            "REDIS_URL": self.redis_url,
            "QUEUE_NAME": queue,
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "WARNING",
        }

    def start_worker(self) -> None:
        log = (self.dir / f"worker-{len(self.workers)}.log").open("ab")
        self.workers.append(
            subprocess.Popen(
                [sys.executable, "-m", "loader", "worker"],
                env=self.env(self.db, self.queue_name),
                cwd=PROJECT_ROOT,
                start_new_session=True,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )

    def live_workers(self) -> list[subprocess.Popen[bytes]]:
        return [w for w in self.workers if w.poll() is None]

    def enqueue_round(self, prefix: str, queue_name: str, specs: list[dict[str, Any]]) -> list[Job]:
        conn = task_queue.connect(self.redis_url)
        queue = task_queue.get_queue(conn, queue_name)
        jobs = []
        for spec in specs:
            task = ParseTask.parse({**spec, "task_id": f"{prefix}-{spec['task_id']}"})
            jobs.append(task_queue.enqueue(task, queue).job)
        return jobs

    def new_specs(self) -> list[dict[str, Any]]:
        specs = []
        version = len(self.specs) // len(SUPPLIERS) + 1
        for supplier in SUPPLIERS:
            i = len(self.specs) + len(specs)
            path = price_list(self.dir / f"{supplier}-{i}.csv", version, self.rng)
            if self.rng.random() < 0.05:
                path = self.dir / f"missing-{i}.csv"  # a permanent failure now and then
            specs.append(
                {
                    "task_id": f"t{i}",
                    "supplier": {"code": supplier, "default_currency": "RUB"},
                    "source": {"type": "csv", "path": str(path)},
                    "submitted_at": (BASE_TIME + dt.timedelta(seconds=i)).isoformat(),
                }
            )
        self.specs += specs
        return specs

    def chaos(self) -> None:
        event = self.rng.choice(["kill_worker", "kill_worker", "restart_redis", "restart_postgres"])
        if event == "kill_worker" and self.live_workers():
            victim = self.rng.choice(self.live_workers())
            os.killpg(victim.pid, signal.SIGKILL)
            victim.wait()
            self.start_worker()
        elif event == "restart_redis":
            local_services.stop_redis(self.state)
            local_services.ensure_redis(self.state)
        elif event == "restart_postgres":
            local_services.stop_postgres(self.state)
            local_services.ensure_postgres(self.state)
        self.events.append((time.monotonic(), event))

    def sample(self) -> None:
        rss = []
        for w in self.live_workers():
            try:
                status = Path(f"/proc/{w.pid}/status").read_text()
                rss.append(
                    int(
                        next(
                            line.split()[1]
                            for line in status.splitlines()
                            if line.startswith("VmRSS")
                        )
                    )
                    / 1024
                )
            except (OSError, StopIteration):
                continue
        try:
            with psycopg.connect(
                DbParams.from_url(self.admin_url).conninfo(), connect_timeout=3
            ) as conn:
                row = conn.execute(
                    "select count(*) from pg_stat_activity where datname = %s",
                    (DbParams.from_url(self.db).dbname,),
                ).fetchone()
            connections = float(row[0]) if row else -1.0
        except psycopg.OperationalError:
            connections = -1.0
        if rss:
            self.samples.append({"rss_mb_mean": statistics.mean(rss), "connections": connections})

    def settle(self, jobs: list[Job], timeout_s: float) -> dict[str, int]:
        """Wait for every task to end; requeue those that ran out of retries (what an operator
        would do after an outage) until only permanent failures are left."""
        deadline = time.monotonic() + timeout_s
        conn = task_queue.connect(self.redis_url)
        while time.monotonic() < deadline:
            statuses = {j.id: j.get_status(refresh=True) for j in jobs}
            failed = [jid for jid, s in statuses.items() if s == JobStatus.FAILED]
            retriable = [
                jid
                for jid in failed
                if "file not found" not in task_queue.last_error(Job.fetch(jid, connection=conn))
            ]
            for jid in retriable:
                dead_letters.requeue(conn, self.queue_name, jid)
            if (
                all(s in (JobStatus.FINISHED, JobStatus.FAILED) for s in statuses.values())
                and not retriable
                and _handed_over_waiting(self.db) == 0  # their dbt run is still going
            ):
                break
            if len(self.live_workers()) < self.n_workers:
                self.start_worker()
            time.sleep(1)
        statuses = {j.id: j.get_status(refresh=True) for j in jobs}
        return {str(s): sum(1 for v in statuses.values() if v == s) for s in set(statuses.values())}

    def snapshot(self, db: str, prefix: str) -> dict[str, list[Any]]:
        strip = f"replace(%s, '{prefix}-', '')"
        queries = {
            "supplier_items": f"select supplier_code, supplier_sku, name, price::text, currency, characteristics::text, {strip % 'last_task_id'} from marts.supplier_items order by 1, 2",
            "parsing_logs": f"select {strip % 'task_id'}, sheet, row_number, rule_code, message from marts.parsing_logs order by 1, 2, 3, 4",
            "task_summaries": f"select {strip % 'task_id'}, rows_landed, items_accepted, rows_rejected, rows_skipped from marts.task_summaries order by 1",
        }
        with psycopg.connect(DbParams.from_url(db).conninfo()) as conn:
            return {k: [list(r) for r in conn.execute(q).fetchall()] for k, q in queries.items()}

    def run(self) -> int:
        try:
            return self._run()
        finally:
            for w in self.workers:  # never leave workers behind, whatever happened
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(w.pid, signal.SIGKILL)

    def _run(self) -> int:
        started = time.monotonic()
        end = started + self.minutes * 60
        for _ in range(self.n_workers):
            self.start_worker()
        jobs: list[Job] = []
        next_round = next_chaos = next_sample = started
        while time.monotonic() < end:
            now = time.monotonic()
            if now >= next_round:
                jobs += self.enqueue_round(f"soak-{self.run_id}", self.queue_name, self.new_specs())
                next_round = now + self.rng.uniform(8, 15)
            if now >= next_chaos and now > started + 10:
                self.chaos()
                next_chaos = now + self.rng.uniform(15, 40)
            if now >= next_sample:
                self.sample()
                next_sample = now + 5
            time.sleep(0.5)
        local_services.ensure_redis(self.state)
        local_services.ensure_postgres(self.state)
        outcome = self.settle(jobs, timeout_s=900)
        for w in self.workers:
            if w.poll() is None:
                os.killpg(w.pid, signal.SIGTERM)
        for w in self.workers:
            try:
                w.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(w.pid, signal.SIGKILL)

        # The reference: the same tasks, one worker, in order, no faults.
        ref_queue = f"soak-ref-{self.run_id}"
        ref_jobs = self.enqueue_round(f"ref-{self.run_id}", ref_queue, self.specs)
        subprocess.run(
            [sys.executable, "-m", "loader", "worker", "--burst"],
            env=self.env(self.ref_db, ref_queue),
            cwd=PROJECT_ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        ref_outcome = {
            str(s): sum(1 for j in ref_jobs if j.get_status(refresh=True) == s)
            for s in {j.get_status() for j in ref_jobs}
        }
        # Task ids are global in Redis: each run's are prefixed with its run id.
        equal = self.snapshot(self.db, f"soak-{self.run_id}") == self.snapshot(
            self.ref_db, f"ref-{self.run_id}"
        )

        third = max(1, len(self.samples) // 3)
        first, last = self.samples[:third], self.samples[-third:]
        rss_first = statistics.mean(s["rss_mb_mean"] for s in first)
        rss_last = statistics.mean(s["rss_mb_mean"] for s in last)
        conn_first = statistics.mean(s["connections"] for s in first if s["connections"] >= 0)
        conn_last = statistics.mean(s["connections"] for s in last if s["connections"] >= 0)
        memory_flat = rss_last <= rss_first * 1.25 + 20
        connections_flat = conn_last <= conn_first + 3
        report = {
            "minutes": self.minutes,
            "tasks": len(self.specs),
            "outcome": outcome,
            "reference_outcome": ref_outcome,
            "events": {
                e: sum(1 for _, x in self.events if x == e) for e in {x for _, x in self.events}
            },
            "database_equals_clean_run": equal,
            "worker_rss_mb": {
                "first_third": round(rss_first, 1),
                "last_third": round(rss_last, 1),
                "flat": memory_flat,
            },
            "db_connections": {
                "first_third": round(conn_first, 1),
                "last_third": round(conn_last, 1),
                "flat": connections_flat,
            },
            "run_id": self.run_id,
        }
        print(json.dumps(report, indent=2))
        return 0 if equal and memory_flat and connections_flat else 1


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--minutes", type=float, default=float(os.environ.get("SOAK_MINUTES", "20"))
    )
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    sys.exit(Soak(args.minutes, args.workers, args.seed).run())


if __name__ == "__main__":
    main()
