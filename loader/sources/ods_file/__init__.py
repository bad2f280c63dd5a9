"""ODS source: OpenDocument spreadsheets, as LibreOffice and some 1C exports save them.

The worked example of docs/new-source.md. calamine reads ODS as it reads XLSX, so this plugin
is a config (the task's `source`) and a registration; the reading, the limits (an ODS file is a
zip archive too) and the data rules are the XLSX source's.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from loader.sources import register
from loader.sources.base import SourceConfig
from loader.sources.xlsx_file import XlsxConfig, XlsxSource


class OdsConfig(XlsxConfig):
    """Like XLSX: `path`, and `sheet` (title or 0-based index; None reads every sheet)."""

    type: Literal["ods"] = "ods"  # type: ignore[assignment]


class OdsSource(XlsxSource):
    config_model: ClassVar[type[SourceConfig]] = OdsConfig
    kind = "ODS"


register("ods", OdsSource(), suffixes=(".ods",))
