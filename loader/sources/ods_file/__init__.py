"""ODS source: OpenDocument spreadsheets, as LibreOffice and some 1C exports save them.

The worked example of docs/new-source.md. calamine reads ODS as it reads XLSX, so this plugin
is a config (the task's `source`) and a registration; the reading, the limits (an ODS file is a
zip archive too) and the data rules are the XLSX source's.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from loader.sources import register
from loader.sources.base import SourceConfig
from loader.sources.xlsx_file import XlsxSource


class OdsConfig(SourceConfig):
    type: Literal["ods"] = "ods"
    path: Path
    # Sheet title or 0-based index; None reads every sheet.
    sheet: str | int | None = None

    def describe(self) -> str:
        return str(self.path)


class OdsSource(XlsxSource):
    config_model: ClassVar[type[SourceConfig]] = OdsConfig
    kind = "ODS"


register("ods", OdsSource(), suffixes=(".ods",))
