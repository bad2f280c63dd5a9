"""Which PostgreSQL and Redis this process uses.

Configured URLs win. Without them the project-local servers under `.local/` are started (or
reused) and their URLs exported, so that child processes (a worker started by the demo, dbt)
talk to the same servers.
"""

from __future__ import annotations

import os

from loader import local_services
from loader.config import Settings


def database_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    url = local_services.ensure_postgres(settings.local_state_dir)
    os.environ["DATABASE_URL"] = url
    return url


def redis_url(settings: Settings) -> str:
    if settings.redis_url:
        return settings.redis_url
    url = local_services.ensure_redis(settings.local_state_dir)
    os.environ["REDIS_URL"] = url
    return url
