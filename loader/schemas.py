"""The JSON Schemas of the queue contract, generated from the pydantic models into `schemas/`.

`loader schema` writes them; `loader schema --check` (and a test) fails when a committed file
differs from its model, so the contract cannot drift silently.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from loader.config import PROJECT_ROOT
from loader.result import TaskResult
from loader.task import ParseTask

SCHEMA_DIR = PROJECT_ROOT / "schemas"
MODELS: dict[str, type[BaseModel]] = {
    "parse_task.schema.json": ParseTask,  # what a script puts on the queue
    "task_result.schema.json": TaskResult,  # what the job returns and raw.task_results keeps
}


def schema_text(model: type[BaseModel]) -> str:
    schema = model.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def stale(directory: Path = SCHEMA_DIR) -> list[Path]:
    """Committed schema files that differ from their models."""
    return [
        directory / name
        for name, model in MODELS.items()
        if not (directory / name).exists()
        or (directory / name).read_text(encoding="utf-8") != schema_text(model)
    ]


def write(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(exist_ok=True)
    for name, model in MODELS.items():
        (directory / name).write_text(schema_text(model), encoding="utf-8")
    return [directory / name for name in MODELS]
