"""What every source plugin produces: sheets of cells, with original row numbers.

Data rules:
- A cell is text, a number (int or float, as the source typed it), a bool, or None (empty).
- Codes are never coerced: text stays text (`000123` keeps its zeros).
- `rows[i]` is sheet row `i + 1` (1-based, as a person sees it); blank rows are kept so that
  row numbers in logs match the file.
- A big file is streamed: `rows` holds its first rows (enough to find the header and map the
  columns) and `rest` yields the others once, when they are landed, so a worker's memory does
  not grow with the list (docs/performance.md). Trailing blank rows are never yielded.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

from pydantic import BaseModel, ConfigDict

CellValue = str | int | float | bool | None


# The rows a streamed sheet reads before mapping: the header is looked for in the first 30 rows
# and the columns' values are judged on up to 500 non-blank rows below it (loader.mapping).
HEAD_ROWS = 1_000


@dataclass
class Sheet:
    name: str
    rows: list[list[CellValue]]
    # Merged areas as (first row, first column, last row, last column), 0-based, where known.
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)
    # The rows after `rows`, not read yet (a streamed sheet); read once.
    rest: Iterator[list[CellValue]] | None = None

    @classmethod
    def streamed(
        cls,
        name: str,
        rows: Iterable[list[CellValue]],
        merges: list[tuple[int, int, int, int]] | None = None,
    ) -> Sheet:
        """A sheet whose first HEAD_ROWS rows are read now and the others when landed."""
        remaining = iter(without_trailing_blanks(rows))
        head = list(itertools.islice(remaining, HEAD_ROWS))
        rest = remaining if len(head) == HEAD_ROWS else None
        return cls(name=name, rows=head, merges=merges or [], rest=rest)


def is_blank(row: list[CellValue]) -> bool:
    return not any(v is not None for v in row)


def without_trailing_blanks(rows: Iterable[list[CellValue]]) -> Iterator[list[CellValue]]:
    """The rows, less the blank ones at the end (not rows of the list); blank rows between
    rows are kept, so row numbers stay those of the file. Holds back only blank rows."""
    blanks: list[list[CellValue]] = []
    for row in rows:
        if is_blank(row):
            blanks.append(row)
            continue
        yield from blanks
        blanks.clear()
        yield row


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
