"""Google Sheets source: a spreadsheet (by key or URL), one worksheet or all of them.

Data rules:
- One metadata request (worksheets, grid sizes, merges), then `values:batchGet` in row batches
  of at most `google_rows_per_request` rows, each read twice (typed values, shown text) to keep
  numbers as numbers and codes as typed (see grid.py).
- Every row of the grid is accounted for: each batch's echoed range must cover what was asked.
  A short read raises ShortReadError (retriable) instead of landing partial data.
- Without a worksheet, every visible worksheet is read; hidden ones are skipped.
- Rows are placed by their offset in the range, never by count (Google cuts trailing empties).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import urlparse

from pydantic import field_validator

from loader.config import get_settings
from loader.exceptions import (
    CredentialsError,
    ShortReadError,
    SourceNotAllowedError,
    SourceNotFoundError,
)
from loader.sources import register
from loader.sources.base import CellValue, Sheet, SourceConfig, is_blank
from loader.sources.google_sheets.client import SheetsClient
from loader.sources.google_sheets.grid import (
    Chunk,
    cell,
    echoed_rows,
    fill_merges,
    plan_requests,
    spreadsheet_key,
)
from loader.sources.limits import check_shape, check_sheet_count


class GoogleSheetsConfig(SourceConfig):
    type: Literal["google_sheets"] = "google_sheets"
    # A spreadsheet key or any Google Sheets URL.
    spreadsheet: str
    # Worksheet title or 0-based index; None reads every visible worksheet.
    worksheet: str | int | None = None
    # A path to the service-account JSON; default GOOGLE_APPLICATION_CREDENTIALS.
    credentials_file: Path | None = None

    @field_validator("spreadsheet")
    @classmethod
    def _has_key(cls, value: str) -> str:
        spreadsheet_key(value)
        return value

    @property
    def key(self) -> str:
        return spreadsheet_key(self.spreadsheet)

    def describe(self) -> str:
        where = f"google sheet {self.key}"
        return where if self.worksheet is None else f"{where}, worksheet {self.worksheet!r}"


class GoogleSheetsSource:
    config_model: ClassVar[type[SourceConfig]] = GoogleSheetsConfig

    def read(self, config: SourceConfig, max_rows: int | None = None) -> Iterator[Sheet]:
        assert isinstance(config, GoogleSheetsConfig)
        settings = get_settings()
        _check_url(config.spreadsheet, settings.google_allowed_hosts, config.describe())
        credentials = config.credentials_file or settings.google_application_credentials
        if credentials is None:
            raise CredentialsError(
                f"{config.describe()}: no service-account file; set GOOGLE_APPLICATION_CREDENTIALS "
                "or the task's credentials_file"
            )
        where = config.describe()
        client = SheetsClient(credentials, settings)
        meta = client.metadata(config.key)
        sheets = _pick(meta.get("sheets", []), config.worksheet, where)
        check_sheet_count([s["properties"]["title"] for s in sheets], where)
        for s in sheets:
            grid = s["properties"].get("gridProperties", {})
            check_shape(
                grid.get("rowCount", 0),
                grid.get("columnCount", 0),
                f"{where}, worksheet {s['properties']['title']!r}",
            )
        grids = [
            (
                s["properties"]["title"],
                min(s["properties"]["gridProperties"]["rowCount"], max_rows or 1 << 62),
                s["properties"]["gridProperties"].get("columnCount", 26),
            )
            for s in sheets
        ]
        rows: dict[str, list[list[CellValue]]] = {title: [] for title, _, _ in grids}
        covered: dict[str, int] = dict.fromkeys(rows, 0)
        for chunks in plan_requests(grids, settings.google_rows_per_request):
            ranges = [c.a1 for c in chunks]
            typed = client.batch_get(config.key, ranges, "UNFORMATTED_VALUE")
            shown = client.batch_get(config.key, ranges, "FORMATTED_VALUE")
            for chunk, typed_range, shown_range in _ranges(chunks, typed, shown, where):
                rows[chunk.title].extend(_chunk_rows(chunk, typed_range, shown_range))
                covered[chunk.title] += chunk.rows
        for sheet, (title, row_count, _) in zip(sheets, grids, strict=True):
            if covered[title] != row_count:
                raise ShortReadError(
                    f"{where}, worksheet {title!r}: read {covered[title]} of {row_count} rows"
                )
            grid = rows[title]
            merges = sheet.get("merges", [])
            fill_merges(grid, merges)
            while grid and is_blank(grid[-1]):
                grid.pop()
            yield Sheet(name=title, rows=grid, merges=[_span(m) for m in merges])


def _check_url(ref: str, allowed_hosts: list[str], where: str) -> None:
    """Only the key of a URL is used, but a URL from elsewhere is refused all the same: a task
    naming another host or scheme is not what the supplier was set up with."""
    if "://" not in ref:
        return
    parsed = urlparse(ref.strip())
    if parsed.scheme != "https" or parsed.hostname not in allowed_hosts:
        raise SourceNotAllowedError(
            f"{where}: {parsed.scheme}://{parsed.hostname} is not an allowed Google Sheets"
            f" address (https on {', '.join(allowed_hosts)})"
        )


def _span(merge: dict[str, int]) -> tuple[int, int, int, int]:
    """A Sheets GridRange (end-exclusive) as first/last row and column, inclusive."""
    return (
        merge.get("startRowIndex", 0),
        merge.get("startColumnIndex", 0),
        merge.get("endRowIndex", 1) - 1,
        merge.get("endColumnIndex", 1) - 1,
    )


def _pick(
    sheets: list[dict[str, Any]], wanted: str | int | None, where: str
) -> list[dict[str, Any]]:
    titles = [s["properties"]["title"] for s in sheets]
    if wanted is None:
        return [s for s in sheets if not s["properties"].get("hidden", False)]
    if isinstance(wanted, int):
        if 0 <= wanted < len(sheets):
            return [sheets[wanted]]
    elif wanted in titles:
        return [sheets[titles.index(wanted)]]
    raise SourceNotFoundError(f"{where}: no worksheet {wanted!r}; the spreadsheet has {titles}")


def _ranges(
    chunks: list[Chunk], typed: dict[str, Any], shown: dict[str, Any], where: str
) -> Iterator[tuple[Chunk, dict[str, Any], dict[str, Any]]]:
    typed_ranges = typed.get("valueRanges", [])
    shown_ranges = shown.get("valueRanges", [])
    if not len(typed_ranges) == len(shown_ranges) == len(chunks):
        raise ShortReadError(
            f"{where}: asked for {len(chunks)} ranges, Google returned "
            f"{len(typed_ranges)} and {len(shown_ranges)}"
        )
    for chunk, t, s in zip(chunks, typed_ranges, shown_ranges, strict=True):
        for answer in (t, s):
            echoed = echoed_rows(str(answer.get("range", "")))
            if echoed != (chunk.first, chunk.last) or len(answer.get("values", [])) > chunk.rows:
                raise ShortReadError(
                    f"{where}: asked for {chunk.a1}, Google returned {answer.get('range')!r} "
                    f"with {len(answer.get('values', []))} rows"
                )
        yield chunk, t, s


def _chunk_rows(
    chunk: Chunk, typed: dict[str, Any], shown: dict[str, Any]
) -> list[list[CellValue]]:
    typed_rows = typed.get("values", [])
    shown_rows = shown.get("values", [])
    out: list[list[CellValue]] = []
    for i in range(chunk.rows):  # by offset: Google drops trailing empty rows
        t_row = typed_rows[i] if i < len(typed_rows) else []
        s_row = shown_rows[i] if i < len(shown_rows) else []
        out.append([cell(v, s_row[j] if j < len(s_row) else None) for j, v in enumerate(t_row)])
    return out


register("google_sheets", GoogleSheetsSource())
