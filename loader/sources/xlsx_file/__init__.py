"""XLSX source (read with python-calamine): one chosen sheet, or every sheet.

Data rules:
- Numbers come as the workbook stores them (whole floats become ints, so a code stored as a
  number reads `3774`, not `3774.0`); text stays text; dates become ISO strings.
- Formulas are never evaluated: the cached value the workbook stores is what we read.
- A sheet that does not exist is a permanent error naming the sheets that do.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar, Literal

from python_calamine import CalamineError, CalamineWorkbook

from loader.exceptions import SourceNotFoundError, UnreadableSourceError
from loader.sources import register
from loader.sources.base import CellValue, Sheet, SourceConfig
from loader.sources.files import read_file_bytes
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
        data = read_file_bytes(path)
        where = str(path)
        if not data.startswith(b"PK"):
            raise UnreadableSourceError(f"{where}: not an {self.kind} workbook (no zip signature)")
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                check_xlsx_archive(archive, where)  # zip bombs, entity bombs: before parsing
            wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
        # zlib.error: a damaged compressed entry, met while checking the archive's sizes.
        except (CalamineError, zipfile.BadZipFile, zlib.error, ValueError, EOFError) as err:
            raise UnreadableSourceError(f"{where}: cannot open workbook: {err}") from err
        names = list(wb.sheet_names)
        check_sheet_count(names, where)
        for name in self._pick(names, config.sheet, where):  # type: ignore[attr-defined]
            try:
                sheet = wb.get_sheet_by_name(name)
                check_shape(sheet.total_height, sheet.total_width, f"{where}, sheet {name!r}")
                values = sheet.to_python(skip_empty_area=False, nrows=max_rows)
                merges = [(r0, c0, r1, c1) for (r0, c0), (r1, c1) in sheet.merged_cell_ranges or []]
            except CalamineError as err:
                raise UnreadableSourceError(f"{where}, sheet {name!r}: {err}") from err
            rows = [[_cell(v) for v in row] for row in values]
            while rows and not any(v is not None for v in rows[-1]):
                rows.pop()
            yield Sheet(name=name, rows=rows, merges=merges)

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


register("xlsx", XlsxSource(), suffixes=(".xlsx", ".xlsm"))
