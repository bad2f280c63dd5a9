"""What a supplier's file may be: checked before and while reading, so a hostile file fails with
a clear `limit_exceeded` (or `source_not_allowed`) error instead of exhausting the worker.

Limits are settings (see loader.config): file size, rows per sheet, columns, characters per
cell, sheets per workbook, the unzipped size and compression ratio of an XLSX (zip bombs), and
no DTD in its XML (entity-expansion bombs; a real workbook never has one).
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from loader.config import get_settings
from loader.exceptions import LimitExceededError, SourceNotAllowedError, UnreadableSourceError
from loader.sources.base import CellValue, Sheet

MB = 1024 * 1024
XML_HEAD_BYTES = 64 * 1024


def check_path(path: Path) -> Path:
    """The file, resolved; refused when it lies outside `files_root` (after following
    symlinks, so neither `../` nor a link leads out) or is over `max_file_mb`."""
    settings = get_settings()
    resolved = Path(os.path.realpath(path))
    if settings.files_root is not None:
        root = Path(os.path.realpath(settings.files_root))
        if not resolved.is_relative_to(root):
            raise SourceNotAllowedError(
                f"{path}: outside the directory this worker may read ({root})"
            )
    if resolved.is_file() and resolved.stat().st_size > settings.max_file_mb * MB:
        raise LimitExceededError(
            f"{path}: {resolved.stat().st_size / MB:.1f} MB is over the limit of"
            f" {settings.max_file_mb:g} MB (MAX_FILE_MB)"
        )
    return resolved


def check_sheet_count(names: Sequence[str], where: str) -> None:
    limit = get_settings().max_sheets
    if len(names) > limit:
        raise LimitExceededError(
            f"{where}: {len(names)} sheets is over the limit of {limit} (MAX_SHEETS)"
        )


def check_shape(rows: int, columns: int, where: str) -> None:
    settings = get_settings()
    if rows > settings.max_rows:
        raise LimitExceededError(
            f"{where}: more than {settings.max_rows} rows (MAX_ROWS); split the list"
        )
    if columns > settings.max_columns:
        raise LimitExceededError(
            f"{where}: {columns} columns is over the limit of {settings.max_columns} (MAX_COLUMNS)"
        )


def check_sheet(sheet: Sheet, where: str) -> None:
    """Rows, columns and cell lengths of a sheet: of the rows read, now; of a streamed sheet's
    other rows, as they are read (its `rest` is replaced by a checking one)."""
    label = f"{where}, sheet {sheet.name!r}"
    check_shape(len(sheet.rows), max((len(r) for r in sheet.rows), default=0), label)
    limit = get_settings().max_cell_chars
    for r, row in enumerate(sheet.rows, start=1):
        _check_cells(row, r, label, limit)
    if sheet.rest is not None:
        sheet.rest = _checked(sheet.rest, len(sheet.rows) + 1, label)


def _checked(rows: Iterator[list[CellValue]], first: int, label: str) -> Iterator[list[CellValue]]:
    settings = get_settings()
    for r, row in enumerate(rows, start=first):
        if r > settings.max_rows or len(row) > settings.max_columns:
            check_shape(r, len(row), label)
        _check_cells(row, r, label, settings.max_cell_chars)
        yield row


def _check_cells(row: list[CellValue], r: int, label: str, limit: int) -> None:
    from loader.mapping.text import column_letter

    for c, value in enumerate(row):
        if isinstance(value, str) and len(value) > limit:
            raise LimitExceededError(
                f"{label}, row {r}, column {column_letter(c)}: a cell of {len(value)}"
                f" characters is over the limit of {limit} (MAX_CELL_CHARS);"
                f" it starts {value[:40]!r}"
            )


def check_xlsx_archive(archive: zipfile.ZipFile, where: str) -> None:
    """Refuse zip bombs and XML with a DTD before the workbook is parsed."""
    settings = get_settings()
    infos = archive.infolist()
    total = sum(i.file_size for i in infos)
    if total > settings.max_xlsx_unzipped_mb * MB:
        raise LimitExceededError(
            f"{where}: unzips to {total / MB:.0f} MB, over the limit of"
            f" {settings.max_xlsx_unzipped_mb:g} MB (MAX_XLSX_UNZIPPED_MB)"
        )
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > MB and ratio > settings.max_xlsx_compression_ratio:
            raise LimitExceededError(
                f"{where}: part {info.filename} is compressed {ratio:.0f} to 1, over the limit"
                f" of {settings.max_xlsx_compression_ratio:g} (a zip bomb?)"
            )
        if info.filename.endswith((".xml", ".rels")):
            try:
                with archive.open(info) as member:
                    head = member.read(XML_HEAD_BYTES)
            except (zipfile.BadZipFile, OSError, EOFError) as err:
                raise UnreadableSourceError(
                    f"{where}: corrupt part {info.filename}: {err}"
                ) from err
            if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                raise UnreadableSourceError(
                    f"{where}: part {info.filename} declares a DTD or entities; workbooks never"
                    " do (an entity-expansion bomb?)"
                )
