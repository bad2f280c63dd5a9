"""Log lines are JSON with the task's context, and secrets never reach them."""

from __future__ import annotations

import json

import structlog

from loader.logs import configure_logging


def _render(event: dict[str, object], exc: BaseException | None = None) -> dict[str, object]:
    """Run an event through the processors `configure_logging` installs, as a log call does."""
    configure_logging("json")
    event = {**event, "exc_info": (type(exc), exc, exc.__traceback__)} if exc else event
    out: object = event
    for processor in structlog.get_config()["processors"]:
        out = processor(None, "error", out)  # type: ignore[arg-type]
    assert isinstance(out, str)
    return json.loads(out)


def test_passwords_in_urls_fields_and_tracebacks_are_redacted() -> None:
    try:
        raise ConnectionError("cannot reach postgresql://loader:s3cret-pw@db:5432/marketbel")
    except ConnectionError as err:
        line = _render(
            {
                "event": "task_failed",
                "task_id": "t-1",
                "redis": "redis://:r3dis-pw@redis:6379/0",
                "google_token": "ya29.a0AfH6SM",
                "db_password": "s3cret-pw",
                "source": "https://docs.google.com/spreadsheets/d/abc/edit",
            },
            err,
        )
    text = json.dumps(line)
    for secret in ("s3cret-pw", "r3dis-pw", "ya29.a0AfH6SM"):
        assert secret not in text
    assert line["redis"] == "redis://:***@redis:6379/0"
    assert "postgresql://loader:***@db:5432/marketbel" in str(line["exception"])
    assert line["google_token"] == line["db_password"] == "***"
    # What is not a secret stays readable.
    assert line["source"] == "https://docs.google.com/spreadsheets/d/abc/edit"
    assert (line["task_id"], line["level"]) == ("t-1", "error")


def test_log_lines_carry_the_bound_task_context() -> None:
    structlog.contextvars.bind_contextvars(task_id="t-2", supplier="acme", stage="land")
    try:
        line = _render({"event": "task_done", "rows_landed": 3, "duration_s": 1.5})
    finally:
        structlog.contextvars.clear_contextvars()
    assert {k: line[k] for k in ("task_id", "supplier", "stage", "rows_landed", "duration_s")} == {
        "task_id": "t-2",
        "supplier": "acme",
        "stage": "land",
        "rows_landed": 3,
        "duration_s": 1.5,
    }
    assert "timestamp" in line
