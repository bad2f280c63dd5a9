"""One DATABASE_URL, expressed the way each consumer (psycopg, dlt, dbt, alembic) wants it."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING
from urllib.parse import quote

import psycopg
from psycopg.conninfo import conninfo_to_dict

from loader.exceptions import DatabaseUnavailableError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL


@dataclass(frozen=True)
class DbParams:
    host: str
    port: int
    user: str
    password: str
    dbname: str
    role: str | None = None  # the role the session acts as (SET ROLE at connection start)

    @classmethod
    def from_url(cls, url: str) -> DbParams:
        parts = conninfo_to_dict(url)
        return cls(
            host=str(parts.get("host") or "127.0.0.1"),
            port=int(parts.get("port") or 5432),
            user=str(parts.get("user") or "postgres"),
            password=str(parts.get("password") or ""),
            dbname=str(parts.get("dbname") or "postgres"),
        )

    def as_role(self, role: str | None) -> DbParams:
        """The same login, acting as `role` (which the login must be a member of)."""
        return replace(self, role=role)

    def _options(self) -> str | None:
        # `role` is a setting: given at connection start it is the session's SET ROLE.
        return f"-c role={self.role}" if self.role else None

    def conninfo(self) -> str:
        options = self._options()
        extra = {"options": options} if options else {}
        return psycopg.conninfo.make_conninfo(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=self.dbname,
            **extra,
        )

    def dlt_credentials(self) -> str:
        """A URL; a unix-socket directory as host is percent-encoded, which libpq decodes."""
        # dlt insists on a password; trust/peer auth ignores it.
        password = quote(self.password or "unused", safe="")
        query = f"?options={quote(self._options() or '', safe='')}" if self.role else ""
        return (
            f"postgresql://{quote(self.user, safe='')}:{password}"
            f"@{quote(self.host, safe='')}:{self.port}/{quote(self.dbname, safe='')}{query}"
        )

    def dbt_env(self) -> dict[str, str]:
        """Variables read by profiles.yml, and libpq's PGOPTIONS for dbt's connections (its
        profile has no setting for them): JIT off. A JIT-enabled server (Debian's packages,
        the postgres Docker image) compiled the snapshot's queries, costed high by its
        `enable_seqscan = off`, for 1.5-2.5 s each: a 100-row list took 6 s in dbt, not 1 s
        (docs/performance.md)."""
        options = os.environ.get("PGOPTIONS", "")
        if "jit=" not in options:
            options = f"{options} -c jit=off".strip()
        return {
            "DBT_HOST": self.host,
            "DBT_PORT": str(self.port),
            "DBT_USER": self.user,
            "DBT_PASSWORD": self.password,
            "DBT_DBNAME": self.dbname,
            "DBT_ROLE": self.role or "",
            "PGOPTIONS": options,
        }

    def sqlalchemy_url(self) -> URL:
        from sqlalchemy.engine import URL  # only migrations need it; a slow import

        return URL.create(
            "postgresql+psycopg",
            username=self.user,
            password=self.password or None,
            host=self.host,
            port=self.port,
            database=self.dbname,
        )


def connect(url: str, autocommit: bool = False, role: str | None = None) -> psycopg.Connection:
    """Open a psycopg connection, acting as `role` when given; a refused connection is a
    retriable error."""
    try:
        params = DbParams.from_url(url).as_role(role)
        return psycopg.connect(params.conninfo(), autocommit=autocommit)
    except psycopg.OperationalError as err:
        raise DatabaseUnavailableError(f"cannot connect to PostgreSQL: {err}") from err


def create_database(admin_url: str, name: str) -> str:
    """Create database `name` on the server of `admin_url`; return its URL (benchmarks, tests)."""
    from psycopg import sql

    admin = DbParams.from_url(admin_url)
    with psycopg.connect(admin.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    return replace(admin, dbname=name).conninfo()


def drop_database(admin_url: str, name: str) -> None:
    """Drop it, connections and all. A plain DROP first: PostgreSQL cancels an autovacuum
    worker on the database itself (one runs after every big load), while DROP ... WITH (FORCE)
    would have to terminate it, which only a superuser may. FORCE then ends our own sessions."""
    import time

    from psycopg import sql

    plain = sql.SQL("drop database if exists {}").format(sql.Identifier(name))
    force = sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
    for attempt in range(60):
        try:
            with psycopg.connect(DbParams.from_url(admin_url).conninfo(), autocommit=True) as conn:
                try:
                    conn.execute(plain)
                except psycopg.errors.ObjectInUse:
                    conn.execute(force)
            return
        except psycopg.errors.InsufficientPrivilege:
            if attempt == 59:
                raise
            time.sleep(0.5)
