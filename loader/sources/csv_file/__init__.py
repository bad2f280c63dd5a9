"""CSV source: encoding detection (UTF-8, BOMs, Windows-1251 ...), delimiter sniffing.

Data rules:
- A byte-order mark decides the encoding (UTF-8, UTF-16, UTF-32). Otherwise bytes are decoded as
  UTF-8 when they are valid UTF-8; failing that, the encoding is detected with
  charset-normalizer (Windows-1251 exports from 1C are common); a file mixing UTF-8 lines with
  lines in another encoding is decoded line by line.
- A file with NUL bytes, or that no encoding explains, is not a CSV: `UnreadableSourceError`.
- The delimiter is the candidate (`;`, `,`, tab, `|`) that splits the first lines into the most
  consistent number of fields (more than one); a configured delimiter wins.
- Cells are kept as the text the supplier wrote; empty cells become None.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar, Literal

from charset_normalizer import from_bytes

from loader.config import get_settings
from loader.exceptions import UnreadableSourceError
from loader.sources import register
from loader.sources.base import CellValue, Sheet, SourceConfig
from loader.sources.files import read_file_bytes

CANDIDATE_DELIMITERS = [";", ",", "\t", "|"]
# Longest first: the UTF-32 LE BOM starts with the UTF-16 LE one. Excel's "Unicode text" export
# is UTF-16 with a BOM.
BOMS = [
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xef\xbb\xbf", "utf-8"),
]
SNIFF_LINES = 50
# What the non-UTF-8 lines of a mixed file are tried as: the legacy encodings suppliers use.
LEGACY_ENCODINGS = ["cp1251", "koi8_r", "cp866", "cp1252", "iso8859_5", "cp1250"]
# Python's csv refuses cells over 128 KiB; a supplier's 1 MB description is data, not an error
# (dbt's value_too_long rule decides about names and codes).
MAX_CELL_CHARS = 16 * 1024 * 1024
csv.field_size_limit(MAX_CELL_CHARS)


class CsvConfig(SourceConfig):
    type: Literal["csv"] = "csv"
    path: Path
    encoding: str | None = None
    delimiter: str | None = None

    def describe(self) -> str:
        return str(self.path)


def decode(data: bytes, where: str, encoding: str | None = None) -> tuple[str, str]:
    """Return (text, encoding used)."""
    for bom, bom_encoding in BOMS:
        if data.startswith(bom) and not encoding:
            try:
                return data[len(bom) :].decode(bom_encoding), bom_encoding
            except UnicodeDecodeError as err:
                raise UnreadableSourceError(
                    f"{where}: {bom_encoding} BOM but invalid text: {err}"
                ) from err
    if b"\x00" in data[:65536]:
        raise UnreadableSourceError(f"{where}: binary data (NUL bytes), not a CSV file")
    if encoding:
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as err:
            raise UnreadableSourceError(f"{where}: cannot decode as {encoding}: {err}") from err
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    best = from_bytes(data).best()
    if best is None:
        return _decode_mixed(data, where)
    return str(best), best.encoding


def _decode_mixed(data: bytes, where: str) -> tuple[str, str]:
    """Lines in two encodings (rows pasted from a UTF-8 file into a Windows-1251 one): each line
    as UTF-8 when it is valid UTF-8, the others in the encoding detected for them alone."""
    lines = data.split(b"\n")
    legacy = b"\n".join(line for line in lines if not _is_utf8(line))
    # Short runs defeat statistical detection: take the legacy encoding that reads them as the
    # most letters (Windows-1251 first, the usual partner of UTF-8 in Russian-language lists).
    encoding = max(LEGACY_ENCODINGS, key=lambda e: _letters(legacy.decode(e, errors="replace")))
    if _letters(legacy.decode(encoding, errors="replace")) == 0:
        raise UnreadableSourceError(f"{where}: not text in any known encoding")
    text = "\n".join(
        line.decode("utf-8") if _is_utf8(line) else line.decode(encoding, errors="replace")
        for line in lines
    )
    return text, f"utf-8+{encoding}"


def _letters(text: str) -> int:
    return sum(1 for ch in text if ch.isalpha() and (ch.isascii() or "\u0400" <= ch <= "\u04ff"))


def _is_utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def sniff_delimiter(text: str) -> str:
    lines = [ln for ln in text.splitlines()[:SNIFF_LINES] if ln.strip()]
    best, best_score = ",", -1.0
    for delim in CANDIDATE_DELIMITERS:
        counts = [len(r) for r in csv.reader(lines, delimiter=delim)]
        if not counts:
            continue
        width, freq = Counter(counts).most_common(1)[0]
        if width < 2:
            continue
        score = freq / len(counts) * 100 + width  # consistency first, then width
        if score > best_score:
            best, best_score = delim, score
    return best


def _cell(value: str) -> CellValue:
    return value if value.strip() else None


class CsvSource:
    config_model: ClassVar[type[SourceConfig]] = CsvConfig

    def read(self, config: SourceConfig, max_rows: int | None = None) -> Iterator[Sheet]:
        assert isinstance(config, CsvConfig)
        where = str(config.path)
        text, _ = decode(read_file_bytes(config.path, max_rows), where, config.encoding)
        delimiter = config.delimiter or sniff_delimiter(text)
        try:
            reader = csv.reader(io.StringIO(text), delimiter=delimiter)
            # One row over the limit is enough to know the file is over it.
            limit = min(max_rows or get_settings().max_rows + 1, get_settings().max_rows + 1)
            rows = [[_cell(v) for v in row] for row in itertools.islice(reader, limit)]
        except csv.Error as err:
            raise UnreadableSourceError(f"{where}: malformed CSV: {err}") from err
        while rows and not any(v is not None for v in rows[-1]):
            rows.pop()  # trailing blank lines are not rows of the list
        yield Sheet(name=config.path.name, rows=rows)


register("csv", CsvSource(), suffixes=(".csv", ".tsv", ".txt"))
