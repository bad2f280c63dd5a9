"""`loader` command line: migrate, worker, enqueue, ingest, preview, mapping, status, schema,
services, dlq, demo."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Any

import click

from loader import defaults, runtime
from loader.config import PROJECT_ROOT, get_settings
from loader.exceptions import LoaderError
from loader.logs import configure_logging
from loader.sources import FILE_SOURCE_BY_SUFFIX, file_source_type, get_source

SCHEMA_DIR = PROJECT_ROOT / "schemas"
EXIT_NEEDS_REVIEW = 3


@click.group()
def main() -> None:
    """Marketbel price-list loader."""
    from pydantic import ValidationError

    try:
        settings = get_settings()
    except ValidationError as err:
        raise click.ClickException(f"configuration refused: {err}") from err
    configure_logging(settings.log_format, settings.log_level)


@main.command()
@click.argument("direction", type=click.Choice(["up", "down"]), default="up")
@click.option(
    "--revision", default=None, help="Target revision (default: head for up, -1 for down)."
)
def migrate(direction: str, revision: str | None) -> None:
    """Apply (up) or roll back (down) database migrations."""
    from loader import migrate as migrations

    url = runtime.database_url(get_settings())
    if direction == "up":
        migrations.upgrade(url, revision or "head")
    else:
        migrations.downgrade(url, revision or "-1")
    click.echo(f"database at revision {migrations.current_revision(url) or 'base (empty)'}")


@main.command()
@click.option("--burst", is_flag=True, help="Exit when the queue is empty.")
@click.option("--name", default=None, help="Worker name (default: generated).")
def worker(burst: bool, name: str | None) -> None:
    """Run an RQ worker (with the scheduler, for retries)."""
    from loader.worker import run_worker

    settings = get_settings()
    runtime.database_url(settings)  # start/export the local database before forking tasks
    run_worker(runtime.redis_url(settings), settings.queue_name, burst=burst, name=name)


def _task_options(func: Any) -> Any:
    options = [
        click.option(
            "--message",
            "message_file",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="A JSON parse-task message (see schemas/parse_task.schema.json).",
        ),
        click.option("--supplier", help="Supplier code."),
        click.option("--supplier-name", help="Supplier display name."),
        click.option("--currency", help="Supplier default currency (ISO 4217)."),
        click.option(
            "--file", "file_path", type=click.Path(path_type=Path), help="CSV or XLSX file."
        ),
        click.option("--sheet", help="XLSX sheet title or 0-based index (default: every sheet)."),
        click.option("--google-sheet", "google_sheet", help="Google spreadsheet key or URL."),
        click.option("--worksheet", help="Google worksheet title or 0-based index (default: all)."),
        click.option(
            "--credentials",
            type=click.Path(path_type=Path),
            help="Service-account JSON (default: GOOGLE_APPLICATION_CREDENTIALS).",
        ),
        click.option("--task-id", help="Task id (default: generated)."),
        click.option(
            "--override",
            "overrides",
            multiple=True,
            metavar="HEADER=TARGET",
            help="Column override, e.g. 'Арт.=supplier_sku' or 'Остаток=ignore'.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def build_task(
    message_file: Path | None,
    supplier: str | None,
    supplier_name: str | None,
    currency: str | None,
    file_path: Path | None,
    sheet: str | None,
    task_id: str | None,
    overrides: tuple[str, ...],
    google_sheet: str | None = None,
    worksheet: str | None = None,
    credentials: Path | None = None,
) -> Any:
    from loader.task import ParseTask

    if message_file:
        return ParseTask.parse(message_file.read_text(encoding="utf-8"))
    if not supplier or not (file_path or google_sheet):
        raise click.UsageError("give --message FILE, or --supplier and --file or --google-sheet")
    source: dict[str, Any]
    if google_sheet:
        source = {"type": "google_sheets", "spreadsheet": google_sheet}
        if worksheet is not None:
            source["worksheet"] = int(worksheet) if worksheet.isdigit() else worksheet
        if credentials is not None:
            source["credentials_file"] = str(credentials.resolve())
    else:
        assert file_path is not None
        source_type = file_source_type(file_path.name)
        if source_type is None:
            raise click.UsageError(
                f"{file_path}: unknown file type {file_path.suffix!r};"
                f" known: {', '.join(sorted(FILE_SOURCE_BY_SUFFIX))}"
            )
        source = {"type": source_type, "path": str(file_path.resolve())}
        if sheet is not None and "sheet" in get_source(source_type).config_model.model_fields:
            source["sheet"] = int(sheet) if sheet.isdigit() else sheet
    parsed_overrides = _parse_overrides(overrides)
    return ParseTask.parse(
        {
            "task_id": task_id or f"{supplier}-{uuid.uuid4().hex[:12]}",
            "supplier": {"code": supplier, "name": supplier_name, "default_currency": currency},
            "source": source,
            "column_overrides": parsed_overrides,
        }
    )


def _parse_overrides(items: tuple[str, ...]) -> dict[str, str]:
    parsed = {}
    for item in items:
        header, sep, target = item.rpartition("=")
        if not sep or not header:
            raise click.UsageError(f"override {item!r}: expected HEADER=TARGET")
        parsed[header] = target
    return parsed


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _as_json(choice: bool | None) -> bool:
    """--json / --table when given; otherwise a table on a terminal and JSON for a program."""
    return (not sys.stdout.isatty()) if choice is None else choice


_format_option = click.option(
    "--json/--table",
    "as_json",
    default=None,
    help="Output format (default: a table on a terminal, JSON otherwise).",
)


def _echo_result_table(result: dict[str, Any]) -> None:
    rows = [
        ("task", result.get("task_id")),
        ("status", result.get("status")),
        ("rows landed", result.get("rows_landed")),
        ("items accepted", result.get("items_accepted")),
        ("rows rejected", result.get("rows_rejected")),
        ("rows warned", result.get("rows_warned")),
        ("rows skipped", result.get("rows_skipped")),
        ("duration", f"{result.get('duration_s')} s"),
    ]
    if result.get("message"):
        rows.append(("message", result["message"]))
    for label, value in rows:
        click.echo(f"{label:15} {value}")
    for reason in result.get("top_reasons") or []:
        click.echo(
            f"  {reason['rule_code']:20} {reason['severity']:5} {reason['rows']:>6}"
            f"  e.g. {reason['example']}"
        )


@main.command()
@_task_options
@click.option("--wait", is_flag=True, help="Show progress, then the task's result.")
@click.option("--timeout", default=600.0, show_default=True, help="Seconds to wait.")
@_format_option
def enqueue(wait: bool, timeout: float, as_json: bool | None, **task_args: Any) -> None:
    """Put a parse task on the queue."""
    from loader import queue as task_queue

    settings = get_settings()
    try:
        task = build_task(**task_args)
    except LoaderError as err:
        raise click.ClickException(str(err)) from err
    conn = task_queue.connect(runtime.redis_url(settings))
    enqueued = task_queue.enqueue(task, task_queue.get_queue(conn, settings.queue_name))
    state = "enqueued" if enqueued.created else f"already known ({enqueued.job.get_status().value})"
    click.echo(f"task {task.task_id} {state}", err=True)
    if wait:
        try:
            result = task_queue.wait(
                enqueued.job,
                timeout,
                on_progress=lambda line: click.echo(line, err=True),
                database_url=runtime.database_url(settings),
            )
        except task_queue.TaskFailed as err:
            raise click.ClickException(f"task {task.task_id} failed: {err}") from err
        if _as_json(as_json):
            _echo_json(result)
        else:
            _echo_result_table(result)


@main.command()
@_task_options
def ingest(**task_args: Any) -> None:
    """Run one parse task in this process, without the queue."""
    from loader.jobs import run_task

    settings = get_settings()
    try:
        task = build_task(**task_args)
        result = run_task(task, runtime.database_url(settings), settings)
    except LoaderError as err:
        raise click.ClickException(f"{err.code}: {err}") from err
    _echo_json(result.model_dump(mode="json"))
    if result.status == "failed":
        sys.exit(1)
    if result.status == "needs_review":
        sys.exit(EXIT_NEEDS_REVIEW)


@main.command()
@click.argument("source")
@click.option("--sheet", help="Sheet (XLSX) or worksheet (Google) title or 0-based index.")
@click.option("--supplier", help="Use this supplier's mapping memory and saved overrides.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of a table.")
@click.option(
    "--override", "overrides", multiple=True, metavar="HEADER=TARGET", help="Column override."
)
@click.option("--credentials", type=click.Path(path_type=Path), help="Google service-account JSON.")
def preview(
    source: str,
    sheet: str | None,
    supplier: str | None,
    as_json: bool,
    overrides: tuple[str, ...],
    credentials: Path | None,
) -> None:
    """Show how SOURCE (a CSV/XLSX file or a Google Sheet URL) would be mapped; writes nothing."""
    from loader.jobs import load_supplier_mapping
    from loader.preview import preview as run_preview
    from loader.preview import render_table

    settings = get_settings()
    is_google = source.startswith(("http://", "https://")) or not Path(source).suffix
    try:
        task = build_task(
            None,
            supplier or "preview",
            None,
            None,
            None if is_google else Path(source),
            sheet,
            "preview",
            overrides,
            google_sheet=source if is_google else None,
            worksheet=sheet if is_google else None,
            credentials=credentials,
        )
        memory, saved = (
            load_supplier_mapping(runtime.database_url(settings), supplier)
            if supplier
            else ([], {})
        )
        decision = run_preview(task, memory, saved)
    except LoaderError as err:
        raise click.ClickException(f"{err.code}: {err}") from err
    if as_json:
        _echo_json(decision)
    else:
        click.echo(render_table(decision))


@main.command("task")
@click.argument("task_id")
@click.option("--json", "as_json", is_flag=True, help="The stored TaskResult as JSON.")
def task_view(task_id: str, as_json: bool) -> None:
    """One task: its result and top reasons, or its state on the queue if it has not finished."""
    from loader import queue as task_queue
    from loader.db import connect
    from loader.jobs import top_reasons

    settings = get_settings()
    with connect(runtime.database_url(settings)) as conn:
        row = conn.execute(
            "select result, finished_at from raw.task_results where task_id = %s", (task_id,)
        ).fetchone()
        reasons = top_reasons(conn, task_id) if row else []
    if row is None:
        state = task_queue.job_state(task_queue.connect(runtime.redis_url(settings)), task_id)
        if state is None:
            raise click.ClickException(f"no task {task_id!r} in the database or on the queue")
        if as_json:
            _echo_json(state)
        else:
            error = f": {state['error']}" if state.get("error") else ""
            click.echo(f"task {task_id}: {state['status']}{error}")
        return
    result, finished_at = row
    if as_json:
        _echo_json(result)
        return
    click.echo(
        f"task {task_id} ({result['supplier_code']}, {result['source']}): {result['status']}"
        f" at {finished_at}"
    )
    click.echo(
        f"  rows {result['rows_landed']}: {result['items_accepted']} accepted"
        f" ({result.get('rows_warned', 0)} with warnings), {result['rows_rejected']} rejected,"
        f" {result['rows_skipped']} skipped; {result['duration_s']} s"
    )
    if result.get("message"):
        click.echo(f"  {result['message']}")
    for name, why in result.get("skipped_sheets", {}).items():
        click.echo(f"  skipped sheet {name!r}: {why}")
    for reason in reasons[:10]:
        click.echo(
            f"  {reason.severity:5} {reason.rule_code:20} {reason.rows:6} rows,"
            f" e.g. {reason.example}"
        )


@main.group()
def mapping() -> None:
    """A supplier's remembered mappings, saved overrides and mapping changes."""


@mapping.command("show")
@click.argument("supplier")
def mapping_show(supplier: str) -> None:
    from loader.db import connect
    from loader.mapping import memory

    with connect(runtime.database_url(get_settings()), role=defaults.LOADER_ROLE) as conn:
        remembered = memory.load(conn, supplier)
        saved = memory.load_overrides(conn, supplier)
        changes = memory.recent_changes(conn, supplier)
    click.echo(f"supplier {supplier}: {len(remembered)} remembered layout(s)")
    for m in remembered:
        fields = ", ".join(
            f"{f}={m.headers[i] if i < len(m.headers) and m.headers[i] else f'column {i}'}"
            for f, i in sorted(m.fields.items())
        )
        click.echo(f"  {m.fingerprint} sheet {m.sheet!r} updated {m.updated_at}: {fields}")
    click.echo(f"saved overrides: {saved or 'none'}")
    for at, task_id, sheet, kind, detail in changes:
        click.echo(f"  {at} {task_id} {sheet!r} {kind}: {detail}")


@mapping.command("set")
@click.argument("supplier")
@click.argument("overrides", nargs=-1, required=True, metavar="HEADER=TARGET...")
def mapping_set(supplier: str, overrides: tuple[str, ...]) -> None:
    """Save overrides for every list of SUPPLIER (TARGET: supplier_sku, name, price, currency,
    ignore or characteristic:<key>)."""
    from loader.db import connect
    from loader.mapping import memory
    from loader.task import ParseTask

    parsed = _parse_overrides(overrides)
    ParseTask.parse(  # the same validation as a task's overrides
        {"task_id": "check", "supplier": {"code": supplier},
         "source": {"type": "csv", "path": "x.csv"}, "column_overrides": parsed}
    )  # fmt: skip
    with connect(runtime.database_url(get_settings()), role=defaults.LOADER_ROLE) as conn:
        memory.set_overrides(conn, supplier, parsed)
    click.echo(f"saved {len(parsed)} override(s) for {supplier}")


@mapping.command("forget")
@click.argument("supplier")
def mapping_forget(supplier: str) -> None:
    """Drop SUPPLIER's remembered mappings and saved overrides."""
    from loader.db import connect
    from loader.mapping import memory

    with connect(runtime.database_url(get_settings()), role=defaults.LOADER_ROLE) as conn:
        layouts, saved = memory.forget(conn, supplier)
    click.echo(f"forgot {layouts} layout(s) and {saved} override(s) of {supplier}")


@main.command()
@_format_option
@click.option("--last", default=10, show_default=True, help="How many recent tasks to show.")
def status(as_json: bool | None, last: int) -> None:
    """Queue depth, retries, dead letters, workers and the last tasks, with warnings."""
    from loader import queue as task_queue

    settings = get_settings()
    info = task_queue.status(
        task_queue.connect(runtime.redis_url(settings)),
        settings.queue_name,
        last,
        database_url=runtime.database_url(settings),
    )
    if _as_json(as_json):
        _echo_json(info)
        return
    click.echo(
        f"queue {info['queue']}: {info['queued']} queued, {info['started']} running, "
        f"{info['scheduled_retries']} waiting to retry, {info['failed']} failed"
    )
    for warning in info["warnings"]:
        click.echo(f"WARNING: {warning}")
    click.echo(f"workers: {len(info['workers'])}")
    for w in info["workers"]:
        doing = f"{w['current_task']} ({w['stage']})" if w["stage"] else w["current_task"] or ""
        click.echo(f"  {w['name']:40} {w['state']:10} {doing}".rstrip())
    if info["last_tasks"]:
        click.echo("last tasks:")
    for t in info["last_tasks"]:
        detail = t.get("error") or (
            f"{t.get('status')} items={t.get('items_accepted')}"
            f" rejected={t.get('rows_rejected')} {t.get('duration_s')} s"
        )
        click.echo(f"  {t['ended_at'] or '-':32} {t['task_id']:40} {detail}")


@main.command()
@click.option("--check", is_flag=True, help="Fail if a committed schema differs from its model.")
def schema(check: bool) -> None:
    """Write the JSON Schemas of the parse task and the task result (schemas/)."""
    from loader import schemas

    if check:
        stale = schemas.stale(SCHEMA_DIR)
        if stale:
            names = ", ".join(str(p) for p in stale)
            raise click.ClickException(f"{names} out of date; run `loader schema`")
        click.echo("schemas up to date")
        return
    for path in schemas.write(SCHEMA_DIR):
        click.echo(f"wrote {path}")


@main.group()
def services() -> None:
    """The project-local PostgreSQL and Redis (used when no URLs are configured)."""


@services.command("up")
def services_up() -> None:
    """Start them (or find them running) and print their URLs as shell exports."""
    settings = get_settings()
    click.echo(f"export DATABASE_URL='{runtime.database_url(settings)}'")
    click.echo(f"export REDIS_URL='{runtime.redis_url(settings)}'")


@services.command("down")
def services_down() -> None:
    """Stop them; their data stays under .local/."""
    from loader import local_services

    local_services.stop(get_settings().local_state_dir)
    click.echo("local services stopped")


@main.command()
@click.option(
    "--worker", "need_worker", is_flag=True, help="Also require a live worker on this host."
)
def healthcheck(need_worker: bool) -> None:
    """Exit 0 when PostgreSQL answers a query, Redis answers PING and (--worker) a worker of
    this queue on this host is alive. Used by docker-compose health checks."""
    import socket

    from rq.worker import Worker

    from loader import queue as task_queue
    from loader.db import connect
    from loader.recovery import alive_key

    settings = get_settings()
    try:
        with connect(runtime.database_url(settings)) as conn:
            conn.execute("select 1")
        redis_conn = task_queue.connect(runtime.redis_url(settings))
        redis_conn.ping()
    except Exception as err:  # noqa: BLE001 - any failure means unhealthy; say which
        raise click.ClickException(f"unhealthy: {err}") from err
    if need_worker:
        # Live: serves this queue, runs on this host, and its liveness key (refreshed every few
        # seconds by the worker's main process) has not expired. RQ's own registration outlives
        # a killed worker by minutes.
        queue = task_queue.get_queue(redis_conn, settings.queue_name)
        alive = [
            w
            for w in Worker.all(queue=queue)
            if w.hostname == socket.gethostname() and redis_conn.exists(alive_key(w.name))
        ]
        if not alive:
            raise click.ClickException(
                f"unhealthy: no live worker for queue {settings.queue_name}"
                f" on {socket.gethostname()}"
            )
    click.echo("healthy")


@main.group()
def dlq() -> None:
    """The dead-letter place: tasks that failed for good."""


@dlq.command("list")
def dlq_list() -> None:
    """Every dead-lettered task with its error."""
    from loader import dead_letters
    from loader import queue as task_queue

    settings = get_settings()
    dead = dead_letters.list_dead(
        task_queue.connect(runtime.redis_url(settings)), settings.queue_name
    )
    click.echo(f"{len(dead)} dead-lettered task(s)")
    for d in dead:
        click.echo(f"{d.failed_at or '-':32} {d.task_id:40} attempts={d.attempts} {d.error}")


@dlq.command("show")
@click.argument("task_id")
def dlq_show(task_id: str) -> None:
    """A dead-lettered task's message, attempts and error."""
    from dataclasses import asdict

    from loader import dead_letters
    from loader import queue as task_queue

    settings = get_settings()
    dead = dead_letters.show(task_queue.connect(runtime.redis_url(settings)), task_id)
    if dead is None:
        raise click.ClickException(f"no task {task_id}")
    _echo_json(asdict(dead))


@dlq.command("requeue")
@click.argument("task_ids", nargs=-1)
@click.option("--all", "requeue_all", is_flag=True, help="Requeue every dead-lettered task.")
def dlq_requeue(task_ids: tuple[str, ...], requeue_all: bool) -> None:
    """Put dead-lettered tasks back on the queue, with fresh retries."""
    from loader import dead_letters
    from loader import queue as task_queue

    settings = get_settings()
    conn = task_queue.connect(runtime.redis_url(settings))
    if requeue_all:
        task_ids = tuple(d.task_id for d in dead_letters.list_dead(conn, settings.queue_name))
    elif not task_ids:
        raise click.UsageError("give task ids or --all")
    for task_id in task_ids:
        try:
            dead_letters.requeue(conn, settings.queue_name, task_id)
        except KeyError as err:
            raise click.ClickException(f"{task_id} is not in the dead-letter place") from err
        click.echo(f"requeued {task_id}")


@main.command()
def demo() -> None:
    """Ingest the bundled sample price lists through the queue and a worker; print a summary."""
    from loader.demo import run_demo

    sys.exit(run_demo(get_settings()))


@main.group()
def docs() -> None:
    """The dbt documentation site: every model, column, test and the lineage."""


def _site_dir(out: str | None) -> Path:
    return Path(out) if out else get_settings().local_state_dir / "docs"


@docs.command("generate")
@click.option("--out", default=None, help="Directory for the site (default: .local/docs).")
def docs_generate(out: str | None) -> None:
    """Build the site from the dbt project and the live database."""
    from loader import docs_site

    settings = get_settings()
    site = docs_site.generate(runtime.database_url(settings), settings, _site_dir(out))
    click.echo(f"docs site in {site}")


@docs.command("serve")
@click.option("--out", default=None, help="Directory of the site (default: .local/docs).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True)
@click.option("--generate/--no-generate", default=True, help="Build the site first.")
@click.option(
    "--refresh-s",
    default=0,
    show_default=True,
    help="Rebuild the site this often while serving (0: never), so row counts stay current.",
)
def docs_serve(out: str | None, host: str, port: int, generate: bool, refresh_s: int) -> None:
    """Serve the site (generating it first) until interrupted."""
    import threading

    from loader import docs_site

    settings = get_settings()
    site = _site_dir(out)
    url = runtime.database_url(settings) if generate or refresh_s else ""
    if generate:
        docs_site.generate(url, settings, site)
    httpd = docs_site.server(site, host, port)
    if refresh_s > 0:

        def refresh() -> None:
            while not stop.wait(refresh_s):
                try:
                    docs_site.generate(url, settings, site)
                except LoaderError as err:  # keep serving the last good site
                    click.echo(f"docs refresh failed: {err}", err=True)

        stop = threading.Event()
        threading.Thread(target=refresh, daemon=True).start()
    click.echo(f"serving the dbt docs at http://{host}:{httpd.server_address[1]}/", err=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()


@main.group("queue")
def queue_group() -> None:
    """Back the waiting tasks up around a deployment or rollback (see docs/runbook.md)."""


@queue_group.command("drain")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Drain even while workers are running.")
def queue_drain(file: Path, force: bool) -> None:
    """Write the queued tasks and scheduled retries to FILE and take them off the queue."""
    from loader import queue as task_queue
    from loader import queue_backup

    settings = get_settings()
    conn = task_queue.connect(runtime.redis_url(settings))
    try:
        drained = queue_backup.drain(conn, settings.queue_name, file, force=force)
    except queue_backup.WorkersRunningError as err:
        raise click.ClickException(str(err)) from err
    dead = task_queue.get_queue(conn, settings.queue_name).failed_job_registry.count
    click.echo(f"drained {len(drained)} task(s) to {file}; {dead} dead letter(s) left in place")


@queue_group.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def queue_restore(file: Path) -> None:
    """Put the tasks of a drained FILE back on the queue (tasks already there are skipped)."""
    from loader import queue as task_queue
    from loader import queue_backup

    settings = get_settings()
    conn = task_queue.connect(runtime.redis_url(settings))
    outcome = queue_backup.restore(conn, settings.queue_name, file)
    click.echo(
        f"restored {len(outcome.restored)} task(s); {len(outcome.already_known)} already known"
    )
    for task_id, why in outcome.invalid.items():
        click.echo(f"not restored {task_id}: {why}", err=True)
    if outcome.invalid:
        sys.exit(1)


@docs.command("diagram")
@click.option(
    "--out",
    default=str(PROJECT_ROOT / "docs" / "schema.md"),
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
)
@click.option("--check", is_flag=True, help="Fail if the file differs from the database.")
def docs_diagram(out: Path, check: bool) -> None:
    """Write the database's tables and foreign keys as a Mermaid ER diagram."""
    from loader import schema_diagram
    from loader.db import connect

    with connect(runtime.database_url(get_settings())) as conn:
        text = schema_diagram.render(conn)
    if check:
        if not out.exists() or out.read_text(encoding="utf-8") != text:
            raise click.ClickException(f"{out} is out of date: run `loader docs diagram`")
        click.echo(f"{out} is up to date")
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    click.echo(f"wrote {out}")
