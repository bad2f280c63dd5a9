"""Run dbt after a landing, never two dbt write commands at once on one database.

A PostgreSQL advisory lock serialises `dbt build` and `dbt snapshot` across every worker of a
database (snapshots and incremental merges are not safe under concurrency). The run processes
every complete landing waiting at that moment, then snapshots the waiting lists into
price_history in submission order, the oldest waiting list of every supplier in one run (a
"wave"); when a task gets the lock and finds that an earlier run already processed its landing
and its history, it skips dbt altogether.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from loader import db, defaults
from loader.config import Settings
from loader.db import DbParams
from loader.exceptions import DatabaseUnavailableError, TransformError
from loader.faults import checkpoint
from loader.logs import get_logger

_CONNECTION_TROUBLE = (
    "could not connect",
    "connection refused",
    "server closed the connection",
    "terminating connection",
    "connection to server",
)


# Left out of the build a task runs (CI, `dbt build` by hand and the audit run them all):
# - unit tests: they check the SQL, not the data;
# - the tests of what the migrations' constraints already enforce (keys, not null, checks of the
#   serving tables), which would otherwise scan the whole catalogue for every list;
# - the row rules' tests: they warn about the rows parsing_logs already logs, one row per
#   failure, and were 11 of a small list's 54 build nodes (docs/performance.md).
PER_LIST_EXCLUDE = ["test_type:unit", "tag:enforced_by_database", "test_name:row_rule"]


@dataclass(frozen=True)
class TransformRun:
    ran_dbt: bool
    waited_s: float
    dbt_s: float
    # dbt's own node seconds by kind: models, history (the snapshot), validation (data tests)
    node_s: dict[str, float] = field(default_factory=dict)
    # wait=False and another process held the lock: it takes the landing (loader.jobs)
    handed_over: bool = False


NODE_KINDS = {"model": "models", "snapshot": "history", "test": "validation"}

# A task's dbt builds write no manifest.json and run_results.json: they took 0.35 s of every
# build (make bench), and the node timings a task needs come back in the result instead.
TASK_BUILD = ["build", "--no-write-json"]
VIEWS = "config.materialized:view"


def _task_build(database_url: str, settings: Settings, *, select: str | None = None,
                exclude: tuple[str, ...] = ()) -> list[str]:  # fmt: skip
    """The arguments of a task's dbt build. When this worker has built the project's views
    (build_views), they are left out: a view changes only with the project, and re-creating
    five of them for each list was 5 of its 43 nodes. `--indirect-selection empty` keeps the
    views' tests in the build, which leaving a view out would otherwise drop."""
    args = list(TASK_BUILD)
    excluded = [*PER_LIST_EXCLUDE, *exclude]
    if _views_built == _project(database_url, settings):
        excluded.append(VIEWS)
        if select is None:
            args += ["--indirect-selection", "empty"]
    if select is not None:
        args += ["--select", select]
    return [*args, "--exclude", *excluded]


def _project(database_url: str, settings: Settings) -> tuple[str, str]:
    """What this process's parsed project and built views are for: a database and a project."""
    return database_url, str(settings.dbt_project_dir)


# The database and project whose views this process built (build_views), or None.
_views_built: tuple[str, str] | None = None
VIEWS_LOCK_WAIT_S = 10.0


def build_views(database_url: str, settings: Settings) -> bool:
    """Create or replace the project's views, once, at the worker's warm-up (a worker restarts
    on deployment, so they are the deployed project's). Holds the transform lock, waiting at
    most VIEWS_LOCK_WAIT_S for it: a worker must not wait for a long build to start, and one
    that did not build the views has its tasks build them. True when built."""
    global _views_built
    with db.connect(database_url, autocommit=True, role=defaults.TRANSFORM_ROLE) as conn:
        deadline = time.monotonic() + VIEWS_LOCK_WAIT_S
        while not conn.execute(
            "select pg_try_advisory_lock(%s)", (defaults.TRANSFORM_LOCK_KEY,)
        ).fetchone()[0]:  # type: ignore[index]
            if time.monotonic() > deadline:
                return False
            time.sleep(0.2)
        try:
            run_dbt(database_url, settings, ["run", "--no-write-json", "--select", VIEWS])
        finally:
            conn.execute("select pg_advisory_unlock(%s)", (defaults.TRANSFORM_LOCK_KEY,))
    _views_built = _project(database_url, settings)
    return True


def _add_node_seconds(total: dict[str, float], result: Any) -> None:
    for node_result in getattr(result, "results", []):
        kind = NODE_KINDS.get(node_result.node.resource_type)
        if kind:
            total[kind] = round(total.get(kind, 0.0) + node_result.execution_time, 3)


def transform(
    database_url: str,
    load_id: str | None,
    task_id: str | None,
    settings: Settings,
    *,
    wait: bool = True,
) -> TransformRun:
    """Transform every complete landing that is waiting (the task's own, load_id, among them),
    then snapshot the waiting lists. With wait=False, when another process holds the lock,
    return at once (handed_over): a task hands its landing to that process (loader.jobs)."""
    log = get_logger()
    started = time.monotonic()
    with db.connect(database_url, autocommit=True, role=defaults.TRANSFORM_ROLE) as lock_conn:
        if wait:
            lock_conn.execute("select pg_advisory_lock(%s)", (defaults.TRANSFORM_LOCK_KEY,))
        elif not _try_lock(lock_conn):
            return TransformRun(ran_dbt=False, waited_s=0.0, dbt_s=0.0, handed_over=True)
        waited = time.monotonic() - started
        try:
            t0 = time.monotonic()
            node_s: dict[str, float] = {}
            _views_still_there(lock_conn, database_url, settings)
            pending = _pending_lists(lock_conn)
            waves = _history_waves(pending)
            summaries = _summaries_exist(lock_conn)
            own_done = load_id is None or (
                summaries and _already_transformed(lock_conn, task_id, load_id)
            )
            # a waiting landing the models have not taken yet: it landed during the last run
            unparsed = bool(pending) and (not summaries or _unparsed(lock_conn, pending))
            if own_done and not unparsed:
                if not waves:
                    log.info("transform_skipped", reason="landing processed by an earlier dbt run")
                    return TransformRun(ran_dbt=False, waited_s=waited, dbt_s=0.0)
            else:
                if load_id is not None:  # a task's own run (the fault tests' transform stage)
                    checkpoint("transform", database_url)
                # Every waiting landing in one run; the snapshot takes the first wave of waiting
                # lists in the same run.
                first = waves.pop(0) if waves else []
                begun = _begin_history(lock_conn, first)
                args = _task_build(
                    database_url, settings, exclude=() if begun else ("supplier_item_prices+",)
                )
                _add_node_seconds(node_s, run_dbt(database_url, settings, args))
                _end_history(lock_conn, first)
            for wave in waves:  # the lists still waiting: one snapshot per wave, in order
                if _begin_history(lock_conn, wave):
                    args = _task_build(database_url, settings, select="supplier_item_prices+")
                    _add_node_seconds(node_s, run_dbt(database_url, settings, args))
                _end_history(lock_conn, wave)
            return TransformRun(
                ran_dbt=True, waited_s=waited, dbt_s=time.monotonic() - t0, node_s=node_s
            )
        finally:
            lock_conn.execute("select pg_advisory_unlock(%s)", (defaults.TRANSFORM_LOCK_KEY,))


def _try_lock(conn: psycopg.Connection) -> bool:
    row = conn.execute("select pg_try_advisory_lock(%s)", (defaults.TRANSFORM_LOCK_KEY,)).fetchone()
    return bool(row and row[0])


def _views_still_there(conn: psycopg.Connection, database_url: str, settings: Settings) -> None:
    """Forget that the views were built when one is gone (a migration rolled back and applied
    again): this build then creates them again."""
    global _views_built
    if _views_built != _project(database_url, settings) or _parsed is None:
        return
    views = [
        f"{node.schema}.{node.alias}"
        for node in _parsed[1].nodes.values()
        if node.resource_type == "model" and node.config.materialized == "view"
    ]
    found = conn.execute(
        "select count(*) from pg_views where schemaname || '.' || viewname = any(%s)", (views,)
    ).fetchone()
    if found is None or found[0] < len(views):
        _views_built = None


# Completed landings whose prices have not entered price_history yet, oldest submission first.
PENDING_LISTS = """
    select loads._dlt_load_id, loads.supplier_code, loads.submitted_at, loads.received_at
    from raw.task_loads as loads
    inner join raw._dlt_loads as done on done.load_id = loads._dlt_load_id and done.status = 0
    left join raw.history_loads as history on history.load_id = loads._dlt_load_id
    where history.snapshotted_at is null
    order by loads.submitted_at, loads._dlt_load_id
"""


# How much later than its supplier's latest list in the history a list that completed landing
# after it, but was stamped received before it, is stamped: the smallest step PostgreSQL keeps.
STAMP_AFTER = dt.timedelta(microseconds=1)


@dataclass(frozen=True)
class PendingList:
    load_id: str
    supplier_code: str
    submitted_at: dt.datetime
    received_at: dt.datetime


def _pending_lists(conn: psycopg.Connection) -> list[PendingList]:
    rows = conn.execute(PENDING_LISTS).fetchall()
    return [PendingList(*row) for row in rows]


def _history_waves(pending: list[PendingList]) -> list[list[PendingList]]:
    """The waiting lists in the order they enter the history: a supplier's lists one wave each,
    in submission order, and the lists of different suppliers together. A wave is one snapshot
    run: each of its rows is stamped with its own supplier's list time, so under load the lists
    of many suppliers share a run (they used to take one run each: make bench)."""
    waves: list[list[PendingList]] = []
    seen: dict[str, int] = {}
    for item in pending:  # oldest submission first
        nth = seen.get(item.supplier_code, 0)
        seen[item.supplier_code] = nth + 1
        if nth == len(waves):
            waves.append([])
        waves[nth].append(item)
    return waves


def _begin_history(conn: psycopg.Connection, wave: list[PendingList]) -> list[PendingList]:
    """Record a wave's lists as entering the history (the snapshot reads the lists recorded so
    far, and stamps each supplier's rows with its list in progress); the ones it will snapshot,
    those not superseded."""
    return [item for item in wave if _begin_list(conn, item)]


def _begin_list(conn: psycopg.Connection, item: PendingList) -> bool:
    """Record one list as entering the history. False when it is superseded, and so skipped:
    SCD2 rows are never inserted into the past. A list is superseded by a list of its supplier
    submitted after it that is already in the history (a slow worker), or that landed no later
    than it (a retried task landing again): periods then begin in submission order.
    A list is stamped received when its landing begins, and is seen here once it is complete,
    so a newer list stamped before an older one can complete after the older one entered the
    history. It is stamped just after the older list instead (observed_at): a period never
    ends before it begins (migration 0008)."""
    # The supplier's newest list in the history, and its time: the latest time there, since
    # the lists' times only grow in submission order (this function keeps them so).
    newest = conn.execute(
        "select submitted_at, load_id, coalesce(observed_at, received_at) from raw.history_loads"
        " where supplier_code = %s and snapshotted_at is not null and not superseded"
        " order by submitted_at desc, load_id desc limit 1",
        (item.supplier_code,),
    ).fetchone()
    overtaken = conn.execute(
        "select 1 from raw.task_loads as loads"
        " inner join raw._dlt_loads as done on done.load_id = loads._dlt_load_id"
        " and done.status = 0"
        " where loads.supplier_code = %s and loads.submitted_at > %s and loads.received_at <= %s"
        " limit 1",
        (item.supplier_code, item.submitted_at, item.received_at),
    ).fetchone()
    superseded = overtaken is not None or (
        newest is not None and (item.submitted_at, item.load_id) < (newest[0], newest[1])
    )
    observed_at = item.received_at
    if not superseded and newest is not None and newest[2] >= observed_at:
        observed_at = newest[2] + STAMP_AFTER
        get_logger().info(
            "history_stamp_moved",
            load_id=item.load_id,
            received_at=item.received_at.isoformat(),
            observed_at=observed_at.isoformat(),
            reason="completed landing after an older list of its supplier entered the history",
        )
    conn.execute(
        "insert into raw.history_loads"
        " (load_id, supplier_code, submitted_at, received_at, observed_at, superseded)"
        " values (%s, %s, %s, %s, %s, %s) on conflict (load_id) do nothing",
        (
            item.load_id,
            item.supplier_code,
            item.submitted_at,
            item.received_at,
            observed_at,
            superseded,
        ),
    )
    return not superseded


def _end_history(conn: psycopg.Connection, wave: list[PendingList]) -> None:
    if wave:
        conn.execute(
            "update raw.history_loads set snapshotted_at = now() where load_id = any(%s)",
            ([item.load_id for item in wave],),
        )


def _already_transformed(conn: psycopg.Connection, task_id: str | None, load_id: str) -> bool:
    row = conn.execute(
        "select 1 from marts.task_summaries where task_id = %s and load_id = %s", (task_id, load_id)
    ).fetchone()
    return row is not None


def _unparsed(conn: psycopg.Connection, pending: list[PendingList]) -> bool:
    """Whether a waiting list's landing has not been through the models yet: it landed after
    the models of the last run had started, and that run only took it into the history."""
    row = conn.execute(
        "select exists (select 1 from unnest(%s::text[]) as waiting (load_id)"
        " where not exists (select 1 from marts.task_summaries as done"
        " where done.load_id = waiting.load_id))",
        ([item.load_id for item in pending],),
    ).fetchone()
    return bool(row and row[0])


def _summaries_exist(conn: psycopg.Connection) -> bool:
    row = conn.execute("select to_regclass('marts.task_summaries') is not null").fetchone()
    return bool(row and row[0])


def dbt_paths(database_url: str, settings: Settings) -> tuple[Path, Path]:
    """Target and log dirs per database, so runs against different databases never mix state."""
    params = DbParams.from_url(database_url)
    base = settings.local_state_dir / "dbt" / f"{params.dbname}"
    return base / "target", base / "logs"


# The parsed dbt project of this worker process: (database URL, project dir), manifest.
_parsed: tuple[tuple[str, str], Any] | None = None


def parse_project(database_url: str, settings: Settings) -> None:
    """Parse the dbt project once, in the worker before it forks a process per task: each task
    then hands the manifest to dbt instead of loading the project again, which dbt otherwise
    does on every invocation (docs/performance.md). A worker is restarted on deployment, so
    the project it parsed is the one deployed."""
    global _parsed
    manifest = run_dbt(database_url, settings, ["parse"])
    _parsed = (_project(database_url, settings), manifest)
    _compile_macros(manifest)


def _compile_macros(manifest: Any) -> None:
    """Compile every macro's Jinja template once, here: dbt-common caches them for the life of
    the process (keyed by the macro's text), but each forked task otherwise compiled again the
    ones its build called, a seventh of its dbt time. 498 macros take about 0.8 s."""
    from dbt_common.clients.jinja import template_cache

    for macro in manifest.macros.values():
        template_cache.get_node_template(macro)


def run_dbt(
    database_url: str, settings: Settings, args: list[str], target_dir: Path | None = None
) -> Any:
    """Invoke dbt in-process as the transform role; failures become TransformError (or
    retriable connection errors). `target_dir` keeps a side job (the docs site) from sharing
    the workers' dbt state."""
    from dbt.cli.main import dbtRunner

    _find_behavior_flag_sources_cheaply()
    # dbt's log file at debug level took a quarter of each node's time (make bench); an
    # operator who needs every query sets DBT_LOG_LEVEL_FILE=debug.
    os.environ.setdefault("DBT_LOG_LEVEL_FILE", "warn")
    key = _project(database_url, settings)
    manifest = _parsed[1] if _parsed and _parsed[0] == key and target_dir is None else None
    target, logs = dbt_paths(database_url, settings)
    target = target_dir or target
    os.environ.update(DbParams.from_url(database_url).as_role(defaults.TRANSFORM_ROLE).dbt_env())
    os.environ["DO_NOT_TRACK"] = "1"
    result = dbtRunner(manifest=manifest).invoke(
        [
            *args,
            "--project-dir",
            str(settings.dbt_project_dir),
            "--profiles-dir",
            str(settings.dbt_profiles_dir),
            "--target-path",
            str(target),
            "--log-path",
            str(logs),
            "--quiet",
        ]
    )
    if result.success:
        return result.result
    if result.exception is not None:
        raise _classify(str(result.exception)) from result.exception
    failures = [
        f"{r.node.name}: {r.status} {(r.message or '').strip()[:300]}"
        for r in getattr(result.result, "results", [])
        if str(r.status) in ("error", "fail")
    ]
    raise _classify("; ".join(failures) or "dbt failed without a message")


def _find_behavior_flag_sources_cheaply() -> None:
    """dbt builds its adapter's behavior flags on every invocation, and dbt-common finds each
    flag's default source, the calling module, with `inspect.stack()`, which reads the source
    file of every frame: 0.45 s of every task's build (make bench, docs/performance.md). The
    same module name, read from the frames without their source files."""
    from dbt_common import behavior_flags

    def default_source() -> str:
        frame = sys._getframe(1)
        while frame is not None:
            module = frame.f_globals.get("__name__")
            if module and module != behavior_flags.__name__:
                return str(module)
            frame = frame.f_back  # type: ignore[assignment]
        return "Unknown"

    behavior_flags.BehaviorFlagRendered._default_source = staticmethod(default_source)  # type: ignore[method-assign]


def _classify(message: str) -> Exception:
    if any(marker in message.lower() for marker in _CONNECTION_TROUBLE):
        return DatabaseUnavailableError(f"database unavailable during dbt: {message}")
    return TransformError(f"dbt build failed: {message}")
