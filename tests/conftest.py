"""Shared fixtures: real PostgreSQL and Redis, a fresh database and queue per test session.

With DATABASE_URL / REDIS_URL set, the tests use those servers (the role needs CREATEDB);
otherwise the project-local servers are started, as `make demo` does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace

import psycopg
import pytest
from psycopg import sql

from loader import migrate, runtime
from loader.config import PROJECT_ROOT, Settings
from loader.db import DbParams


@dataclass(frozen=True)
class Stack:
    database_url: str
    redis_url: str
    settings: Settings
    run_id: str

    def task_id(self, name: str) -> str:
        """Task ids are global in Redis: make them unique to this test session."""
        return f"{name}-{self.run_id}"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "QUEUE_NAME": self.settings.queue_name,
            "LOG_FORMAT": "json",
        }

    def run_worker_burst(self, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """A real worker process that drains the queue and exits."""
        return subprocess.run(
            [sys.executable, "-m", "loader", "worker", "--burst"],
            env=self.env(),
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(DbParams.from_url(self.database_url).conninfo(), autocommit=True)


def _create_database(admin_url: str, name: str) -> str:
    admin = DbParams.from_url(admin_url)
    with psycopg.connect(admin.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    return replace(admin, dbname=name).conninfo()


def _drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(DbParams.from_url(admin_url).conninfo(), autocommit=True) as conn:
        conn.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
        )


def _delete_queue(redis_url: str, queue_name: str) -> None:
    """Remove this session's jobs and registries from the (persistent) Redis."""
    from loader import queue as task_queue

    conn = task_queue.connect(redis_url)
    queue = task_queue.get_queue(conn, queue_name)
    registries = [
        queue.finished_job_registry,
        queue.failed_job_registry,
        queue.started_job_registry,
        queue.scheduled_job_registry,
        queue.deferred_job_registry,
    ]
    for registry in registries:
        for job_id in registry.get_job_ids():
            conn.delete(f"rq:job:{job_id}", f"rq:results:{job_id}")
        conn.delete(registry.key)
    queue.delete(delete_jobs=True)


@pytest.fixture(scope="session")
def base_settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def admin_url(base_settings: Settings) -> str:
    return runtime.database_url(base_settings)


@pytest.fixture(scope="session")
def stack(base_settings: Settings, admin_url: str) -> Iterator[Stack]:
    """A migrated database and a queue of its own for this test session."""
    run_id = uuid.uuid4().hex[:10]
    db_name = f"mb_test_{run_id}"
    database_url = _create_database(admin_url, db_name)
    settings = base_settings.model_copy(
        update={
            "database_url": database_url,
            "redis_url": runtime.redis_url(base_settings),
            "queue_name": f"test-{run_id}",
            "work_dir": base_settings.local_state_dir / "work" / run_id,
        }
    )
    migrate.upgrade(database_url)
    yield Stack(
        database_url=database_url,
        redis_url=settings.redis_url or "",
        settings=settings,
        run_id=run_id,
    )
    _delete_queue(settings.redis_url or "", settings.queue_name)
    _drop_database(admin_url, db_name)
    shutil.rmtree(base_settings.local_state_dir / "dbt" / db_name, ignore_errors=True)
    shutil.rmtree(settings.work_dir, ignore_errors=True)


@pytest.fixture
def fresh_database(admin_url: str) -> Iterator[str]:
    """An empty database, for tests that migrate it themselves."""
    name = f"mb_test_{uuid.uuid4().hex[:10]}"
    yield _create_database(admin_url, name)
    _drop_database(admin_url, name)
