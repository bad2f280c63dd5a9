"""XLSX source (read with python-calamine): one chosen sheet, or every sheet.

Data rules:
- Numbers come as the workbook stores them (whole floats become ints, so a code stored as a
  number reads `3774`, not `3774.0`); text stays text; dates become ISO strings.
- Formulas are never evaluated: the cached value the workbook stores is what we read.
- A sheet that does not exist is a permanent error naming the sheets that do.
"""

from __future__ import annotations

import datetime as dt
import itertools
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar, Literal

from python_calamine import CalamineError, CalamineSheet, CalamineWorkbook

from loader.exceptions import EmptySourceError, SourceNotFoundError, UnreadableSourceError
from loader.sources import register
from loader.sources.base import CellValue, Sheet, SourceConfig
from loader.sources.files import checked_file
from loader.sources.limits import check_shape, check_sheet_count, check_xlsx_archive


class XlsxConfig(SourceConfig):
    type: Literal["xlsx"] = "xlsx"
    path: Path
    # Sheet title or 0-based index; None reads every sheet.
    sheet: str | int | None = None

    def describe(self) -> str:
        return str(self.path)


def _cell(value: object) -> CellValue:
    if value is None or value == "":
        return None
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return str(value)


class XlsxSource:
    """Reads any workbook calamine reads from a zip archive; ods_file reuses it."""

    config_model: ClassVar[type[SourceConfig]] = XlsxConfig
    kind = "XLSX"

    def read(self, config: SourceConfig, max_rows: int | None = None) -> Iterator[Sheet]:
        assert isinstance(config, self.config_model)
        path: Path = config.path  # type: ignore[attr-defined]
        where = str(path)
        resolved = _checked_workbook(path, self.kind)
        try:
            with zipfile.ZipFile(resolved) as archive:
                check_xlsx_archive(archive, where)  # zip bombs, entity bombs: before parsing
            wb = CalamineWorkbook.from_path(str(resolved))
        # zlib.error: a damaged compressed entry, met while checking the archive's sizes.
        except (CalamineError, zipfile.BadZipFile, zlib.error, ValueError, EOFError) as err:
            raise UnreadableSourceError(f"{where}: cannot open workbook: {err}") from err
        names = list(wb.sheet_names)
        check_sheet_count(names, where)
        for name in self._pick(names, config.sheet, where):  # type: ignore[attr-defined]
            try:
                sheet = wb.get_sheet_by_name(name)
                check_shape(sheet.total_height, sheet.total_width, f"{where}, sheet {name!r}")
                merges = [(r0, c0, r1, c1) for (r0, c0), (r1, c1) in sheet.merged_cell_ranges or []]
            except CalamineError as err:
                raise UnreadableSourceError(f"{where}, sheet {name!r}: {err}") from err
            rows = itertools.islice(_python_rows(sheet), max_rows)
            yield Sheet.streamed(name, rows, merges)

    @staticmethod
    def _pick(names: list[str], wanted: str | int | None, where: str) -> list[str]:
        if wanted is None:
            return names
        if isinstance(wanted, int):
            if 0 <= wanted < len(names):
                return [names[wanted]]
        elif wanted in names:
            return [wanted]
        raise SourceNotFoundError(f"{where}: no sheet {wanted!r}; the workbook has {names}")


def _checked_workbook(path: Path, kind: str) -> Path:
    resolved = checked_file(path)
    with resolved.open("rb") as fh:
        head = fh.read(1024)
    if not head.strip():
        raise EmptySourceError(f"{path}: file is empty")
    if not head.startswith(b"PK"):
        raise UnreadableSourceError(f"{path}: not an {kind} workbook (no zip signature)")
    return resolved


def _python_rows(sheet: CalamineSheet) -> Iterator[list[CellValue]]:
    """The sheet's rows from A1, one at a time: calamine holds the sheet's cells, and only the
    row being landed becomes Python objects (to_python made them all at once: 3 GB at 1M
    rows). calamine starts each row at the used area's first column; the columns left of it
    are padded back, so column letters stay those of the file."""
    pad: list[CellValue] = [None] * (sheet.start[1] if sheet.start else 0)
    for row in sheet.iter_rows():
        yield pad + [_cell(v) for v in row]


register("xlsx", XlsxSource(), suffixes=(".xlsx", ".xlsm"))
