"""What every source plugin produces: sheets of cells, with original row numbers.

Data rules:
- A cell is text, a number (int or float, as the source typed it), a bool, or None (empty).
- Codes are never coerced: text stays text (`000123` keeps its zeros).
- `rows[i]` is sheet row `i + 1` (1-based, as a person sees it); blank rows are kept so that
  row numbers in logs match the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

from pydantic import BaseModel, ConfigDict

CellValue = str | int | float | bool | None


@dataclass
class Sheet:
    name: str
    rows: list[list[CellValue]]
    # Merged areas as (first row, first column, last row, last column), 0-based, where known.
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)


class SourceConfig(BaseModel):
    """Base of every plugin's config; `type` is the registry key and the message discriminator."""

    model_config = ConfigDict(extra="forbid")
    type: str

    def describe(self) -> str:
        """A short human reference to the source, for logs and error messages."""
        raise NotImplementedError


class Source(Protocol):
    config_model: ClassVar[type[SourceConfig]]

    def read(self, config: SourceConfig, max_rows: int | None = None) -> Iterator[Sheet]:
        """Yield the sheets; with `max_rows`, only each sheet's first rows (for a preview)."""
        ...
