"""One DATABASE_URL, expressed the way each consumer (psycopg, dlt, dbt, alembic) wants it."""

from __future__ import annotations

from dataclasses import dataclass
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

    def conninfo(self) -> str:
        return psycopg.conninfo.make_conninfo(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=self.dbname,
        )

    def dlt_credentials(self) -> str:
        """A URL; a unix-socket directory as host is percent-encoded, which libpq decodes."""
        # dlt insists on a password; trust/peer auth ignores it.
        password = quote(self.password or "unused", safe="")
        return (
            f"postgresql://{quote(self.user, safe='')}:{password}"
            f"@{quote(self.host, safe='')}:{self.port}/{quote(self.dbname, safe='')}"
        )

    def dbt_env(self) -> dict[str, str]:
        """Variables read by profiles.yml."""
        return {
            "DBT_HOST": self.host,
            "DBT_PORT": str(self.port),
            "DBT_USER": self.user,
            "DBT_PASSWORD": self.password,
            "DBT_DBNAME": self.dbname,
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


def connect(url: str, autocommit: bool = False) -> psycopg.Connection:
    """Open a psycopg connection; a refused connection is a retriable error."""
    try:
        return psycopg.connect(DbParams.from_url(url).conninfo(), autocommit=autocommit)
    except psycopg.OperationalError as err:
        raise DatabaseUnavailableError(f"cannot connect to PostgreSQL: {err}") from err
