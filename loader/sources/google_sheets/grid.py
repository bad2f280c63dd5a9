"""Pure helpers for reading a Google Sheet: keys, A1 ranges, batches, cells, merges.

Data rules:
- A cell the sheet holds as text stays text, exactly as typed (`000123`, `8085807E40`).
- A number stays a number, except when the sheet shows it with leading zeros (`000123` from a
  `000000` number format): then the text a person sees is kept, since it is a code.
- A number shown as a date or time is a serial (days since 1899-12-30, the Sheets epoch) and is
  converted to an ISO date or timestamp.
- A merged area spanning several rows repeats its top-left value in every row it covers; a merge
  within one row (a section title across the columns) is left as one cell, so the row is
  recognised as a section row.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from gspread.utils import absolute_range_name, rowcol_to_a1

from loader.sources.base import CellValue

SHEETS_EPOCH = dt.datetime(1899, 12, 30)
_URL_KEY = [
    re.compile(r"/spreadsheets/(?:u/\d+/)?d/([a-zA-Z0-9-_]+)"),
    re.compile(r"[?&]key=([^&#]+)"),
]
_BARE_KEY = re.compile(r"^[a-zA-Z0-9-_]{20,}$")
_ECHO = re.compile(r"^([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?$")
_LEADING_ZEROS = re.compile(r"^0\d+$")
_DATE_LIKE = re.compile(
    r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}(\s+\d{1,2}:\d{2}(:\d{2})?)?$|^\d{1,2}:\d{2}(:\d{2})?$"
)


def spreadsheet_key(ref: str) -> str:
    """The key from a bare key or any Google Sheets URL form; ValueError when there is none."""
    ref = ref.strip()
    if "/spreadsheets/d/e/" in ref:
        raise ValueError(
            f"{ref!r} is a 'published to the web' link, which the API cannot open; use the "
            "sheet's own URL (https://docs.google.com/spreadsheets/d/<key>/edit)"
        )
    for pattern in _URL_KEY:
        if match := pattern.search(ref):
            return match.group(1)
    if _BARE_KEY.match(ref):
        return ref
    raise ValueError(f"{ref!r} is neither a spreadsheet key nor a Google Sheets URL")


@dataclass(frozen=True)
class Chunk:
    """Rows `first`..`last` (1-based, inclusive) of one worksheet, all its columns."""

    title: str
    first: int
    last: int
    columns: int

    @property
    def a1(self) -> str:
        end = rowcol_to_a1(self.last, max(self.columns, 1))
        return absolute_range_name(self.title, f"A{self.first}:{end}")

    @property
    def rows(self) -> int:
        return self.last - self.first + 1


def plan_requests(grids: list[tuple[str, int, int]], rows_per_request: int) -> list[list[Chunk]]:
    """Split worksheets (title, rowCount, columnCount) into chunks of at most rows_per_request
    rows and group the chunks into requests of at most rows_per_request rows, so small
    worksheets share one request and a big one takes several."""
    requests: list[list[Chunk]] = []
    current: list[Chunk] = []
    size = 0
    for title, row_count, columns in grids:
        for first in range(1, row_count + 1, rows_per_request):
            chunk = Chunk(title, first, min(first + rows_per_request - 1, row_count), columns)
            if current and size + chunk.rows > rows_per_request:
                requests.append(current)
                current, size = [], 0
            current.append(chunk)
            size += chunk.rows
    if current:
        requests.append(current)
    return requests


def echoed_rows(echo: str) -> tuple[int, int] | None:
    """(first, last) rows of a range Google echoes (`'Title'!A1:Z1000`), or None if unreadable."""
    match = _ECHO.match(echo.rsplit("!", 1)[-1])
    if not match:
        return None
    first = int(match.group(2))
    return first, int(match.group(4) or first)


def serial_to_iso(serial: float) -> str:
    moment = SHEETS_EPOCH + dt.timedelta(days=serial)
    if moment.time() == dt.time(0):
        return moment.date().isoformat()
    return moment.isoformat(timespec="seconds")


def cell(unformatted: Any, formatted: Any) -> CellValue:
    """One cell from its UNFORMATTED_VALUE and FORMATTED_VALUE renderings."""
    if unformatted is None or unformatted == "":
        return None
    if isinstance(unformatted, bool | str):
        return unformatted
    if isinstance(unformatted, int | float):
        shown = formatted if isinstance(formatted, str) else ""
        if _LEADING_ZEROS.match(shown):
            return shown
        if _DATE_LIKE.match(shown):
            return serial_to_iso(float(unformatted))
        if isinstance(unformatted, float) and unformatted.is_integer() and abs(unformatted) < 2**53:
            return int(unformatted)
        return unformatted
    return str(unformatted)


def fill_merges(rows: list[list[CellValue]], merges: list[dict[str, int]]) -> None:
    """Repeat the top-left value of every merge that spans several rows into the rows below."""
    for merge in merges:
        top, bottom = merge.get("startRowIndex", 0), merge.get("endRowIndex", 0)
        left, right = merge.get("startColumnIndex", 0), merge.get("endColumnIndex", 0)
        if bottom - top < 2 or top >= len(rows) or left >= len(rows[top]):
            continue
        value = rows[top][left]
        for r in range(top + 1, min(bottom, len(rows))):
            row = rows[r]
            if len(row) < right:
                row.extend([None] * (right - len(row)))
            for c in range(left, right):
                if row[c] is None:
                    row[c] = value
