"""Shared fixtures: real PostgreSQL and Redis, a fresh database and queue per test session.

With DATABASE_URL / REDIS_URL set, the tests use those servers (the role needs CREATEDB);
otherwise the project-local servers are started, as `make demo` does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import Result

from loader import migrate, runtime
from loader import queue as task_queue
from loader.config import PROJECT_ROOT, Settings
from loader.db import DbParams, create_database, drop_database


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


# `make test` spreads test files over two processes (pytest-xdist, one file stays in one
# process). The longest files go first so neither process is left with a long file at the end.
LONGEST_FILES_FIRST = (
    "test_reliability.py",
    "test_cli_and_demo.py",
    "test_hostile_input.py",
    "test_row_rules.py",
    "test_google_sheets_pipeline.py",
    "test_serving_schema.py",
    "test_monitoring.py",
    "test_deployment.py",
    "test_docs_site.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return (
            LONGEST_FILES_FIRST.index(name)
            if name in LONGEST_FILES_FIRST
            else len(LONGEST_FILES_FIRST)
        )

    items.sort(key=rank)  # stable: the order inside a file is kept


SERVICE_ACCOUNT_EMAIL = "prices-reader@marketbel-test.iam.gserviceaccount.com"


@pytest.fixture(scope="session")
def rsa_key() -> Any:
    """A throwaway key made at test time: no credentials live in the repository."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def fake_google(rsa_key: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The Sheets API stand-in, trusted to verify tokens signed with rsa_key; the loader's
    settings point at it and its backoff does not sleep for real."""
    from cryptography.hazmat.primitives import serialization

    from loader.config import get_settings
    from tests.fakegoogle import FakeGoogle

    fake = FakeGoogle()
    public = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    fake.trust(SERVICE_ACCOUNT_EMAIL, public.decode())
    fake.start()
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("GOOGLE_SHEETS_API_URL", fake.base_url)
    get_settings.cache_clear()
    yield fake
    fake.stop()
    get_settings.cache_clear()


def write_service_account(
    path: Path, key: Any, token_uri: str, email: str = SERVICE_ACCOUNT_EMAIL
) -> Path:
    from cryptography.hazmat.primitives import serialization

    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    info = {  # no universe_domain: google-auth then exchanges the JWT at token_uri
        "type": "service_account",
        "project_id": "marketbel-test",
        "private_key_id": "k1",
        "private_key": pem,
        "client_email": email,
        "client_id": "1",
        "token_uri": token_uri,
    }
    path.write_text(json.dumps(info))
    return path


@pytest.fixture
def service_account(tmp_path: Path, rsa_key: Any, fake_google: Any) -> Path:
    return write_service_account(tmp_path / "sa.json", rsa_key, f"{fake_google.base_url}/token")


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
    database_url = create_database(admin_url, db_name)
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
    task_queue.delete_queue(settings.redis_url or "", settings.queue_name)
    drop_database(admin_url, db_name)
    shutil.rmtree(base_settings.local_state_dir / "dbt" / db_name, ignore_errors=True)
    shutil.rmtree(settings.work_dir, ignore_errors=True)


@pytest.fixture
def fresh_database(admin_url: str) -> Iterator[str]:
    """An empty database, for tests that migrate it themselves."""
    name = f"mb_test_{uuid.uuid4().hex[:10]}"
    yield create_database(admin_url, name)
    drop_database(admin_url, name)


@pytest.fixture
def run(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Result]]:
    """The `loader` command line against this session's database and queue."""
    from click.testing import CliRunner

    from loader import cli
    from loader.config import get_settings

    for key in ("DATABASE_URL", "REDIS_URL", "QUEUE_NAME"):
        monkeypatch.setenv(key, stack.env()[key])
    monkeypatch.setenv("LOG_FORMAT", "json")
    get_settings.cache_clear()

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli.main, list(args), catch_exceptions=False)

    yield invoke
    get_settings.cache_clear()
