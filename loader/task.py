"""The parse-task message: what a script puts on the queue and what the worker accepts.

Validated on enqueue and again in the worker. `schemas/parse_task.schema.json` is generated from
this model (`loader schema`, see loader.schemas); a test fails when the two drift apart.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Annotated, Any, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from loader.exceptions import InvalidTaskError
from loader.sources import SourceConfig, config_models

STANDARD_FIELDS = ("supplier_sku", "name", "price", "currency")
_OVERRIDE_TARGET = re.compile(
    r"^(supplier_sku|name|price|currency|ignore|characteristic:[a-z0-9_]+)$"
)

if TYPE_CHECKING:
    SourceConfigUnion = SourceConfig
else:
    # Built from the plugin registry at import: a new source plugin needs no change here.
    SourceConfigUnion = Annotated[
        Union[tuple(config_models())],  # noqa: UP007
        Field(discriminator="type"),
    ]


class SupplierRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", description="Stable supplier id")
    name: str | None = Field(default=None, max_length=200)
    default_currency: str | None = Field(
        default=None, pattern=r"^[A-Z]{3}$", description="ISO 4217 code used when a list says none"
    )


class ParseTask(BaseModel):
    """One price list to ingest."""

    model_config = ConfigDict(extra="forbid", title="ParseTask")

    task_id: str = Field(
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="Idempotency key: the same id is processed once",
    )
    supplier: SupplierRef
    source: SourceConfigUnion
    column_overrides: dict[str, str] = Field(
        default_factory=dict,
        description="Header text -> supplier_sku | name | price | currency | ignore | "
        "characteristic:<key>; wins over automatic mapping",
    )
    submitted_at: dt.datetime = Field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @field_validator("column_overrides")
    @classmethod
    def _check_overrides(cls, value: dict[str, str]) -> dict[str, str]:
        for header, target in value.items():
            if not _OVERRIDE_TARGET.match(target):
                raise ValueError(f"override for column {header!r}: unknown target {target!r}")
        return value

    @classmethod
    def parse(cls, payload: dict[str, Any] | str) -> ParseTask:
        """Validate a message; any problem is a permanent InvalidTaskError."""
        try:
            if isinstance(payload, str):
                return cls.model_validate_json(payload)
            return cls.model_validate(payload)
        except ValidationError as err:
            raise InvalidTaskError(f"invalid parse task: {err}") from err
