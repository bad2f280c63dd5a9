"""The parse-task message contract."""

from __future__ import annotations

import json

import pytest

from loader.exceptions import InvalidTaskError
from loader.schemas import schema_text, stale
from loader.task import ParseTask

VALID = {
    "task_id": "stroy-2026-11-01",
    "supplier": {"code": "stroymarket", "default_currency": "RUB"},
    "source": {"type": "xlsx", "path": "/data/price.xlsx", "sheet": "Крепёж"},
    "column_overrides": {"Арт.": "supplier_sku", "Примечание": "ignore"},
}


def test_valid_message_round_trips_through_json() -> None:
    task = ParseTask.parse(VALID)
    again = ParseTask.parse(task.model_dump_json())
    assert again == task
    assert again.source.type == "xlsx" and again.source.sheet == "Крепёж"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"task_id": "has:colon"}, "task_id"),
        ({"source": {"type": "ftp", "path": "x"}}, "source"),
        ({"source": {"type": "csv"}}, "path"),
        ({"supplier": {"code": "Bad Code"}}, "supplier.code"),
        ({"supplier": {"code": "ok", "default_currency": "rubles"}}, "default_currency"),
        ({"column_overrides": {"Цена": "cost"}}, "unknown target 'cost'"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_invalid_messages_are_permanent_errors_that_say_what_is_wrong(
    change: dict, message: str
) -> None:
    with pytest.raises(InvalidTaskError, match=message):
        ParseTask.parse({**VALID, **change})


def test_committed_json_schemas_match_the_models() -> None:
    """Fails when a model changes and `make schema` was not run (the queue contract drifted)."""
    assert stale() == []


def test_json_schema_describes_every_source_type() -> None:
    schema = json.loads(schema_text(ParseTask))
    assert set(schema["$defs"]) >= {"CsvConfig", "XlsxConfig", "SupplierRef"}
    assert schema["required"] == ["task_id", "supplier", "source"]


def test_local_state_dir_stays_short_enough_for_unix_sockets(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from pathlib import Path

    from loader.config import MAX_STATE_DIR_LEN, default_state_dir

    assert default_state_dir(Path("/srv/app")) == Path("/srv/app/.local")
    deep = Path("/" + "/".join(["a-rather-long-folder-name"] * 5))
    chosen = default_state_dir(deep)
    assert len(str(chosen)) <= MAX_STATE_DIR_LEN and chosen == default_state_dir(deep)
