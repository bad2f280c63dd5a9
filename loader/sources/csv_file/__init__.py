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

import codecs
import csv
import io
import itertools
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import ClassVar, Literal

from charset_normalizer import from_bytes

from loader.exceptions import UnreadableSourceError
from loader.sources import register
from loader.sources.base import CellValue, Sheet, SourceConfig
from loader.sources.files import checked_file, read_file_bytes

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
        if max_rows is not None:  # a preview: the first lines only
            text, _ = decode(read_file_bytes(config.path, max_rows), where, config.encoding)
            delimiter = config.delimiter or sniff_delimiter(text)
            rows = _rows(io.StringIO(text), delimiter, where)
            yield Sheet.streamed(config.path.name, itertools.islice(rows, max_rows))
            return
        path = checked_file(config.path)
        streaming = None
        if path.stat().st_size > STREAM_HEAD_BYTES:
            with path.open("rb") as fh:
                head = fh.read(STREAM_HEAD_BYTES)
            streaming = _streaming_encoding(path, head, where, config.encoding)
        if streaming is None:  # small, or not UTF-8 (1C's Windows-1251...): decoded whole
            text, _ = decode(read_file_bytes(config.path), where, config.encoding)
            delimiter = config.delimiter or sniff_delimiter(text)
            yield Sheet.streamed(config.path.name, _rows(io.StringIO(text), delimiter, where))
            return
        encoding, skip = streaming
        delimiter = config.delimiter or sniff_delimiter(_decoded_head(head[skip:], encoding))
        yield Sheet.streamed(
            config.path.name, _streamed_rows(path, encoding, skip, delimiter, where)
        )


# A file up to this size is decoded whole; a bigger one is read as a stream (when its encoding
# can be known without decoding it all), so a worker's memory does not grow with the list.
STREAM_HEAD_BYTES = 1024 * 1024
CHECK_CHUNK_BYTES = 1024 * 1024


def _streaming_encoding(
    path: Path, head: bytes, where: str, configured: str | None
) -> tuple[str, int] | None:
    """(encoding, bytes to skip) to stream a big file with, or None to decode it whole: its
    encoding is guessed from all of its bytes (not UTF-8)."""
    if b"\x00" in head[:65536] and not head.startswith(tuple(b for b, _ in BOMS)):
        raise UnreadableSourceError(f"{where}: binary data (NUL bytes), not a CSV file")
    if configured:
        try:
            codecs.lookup(configured)
        except LookupError as err:
            raise UnreadableSourceError(f"{where}: cannot decode as {configured}: {err}") from err
        return configured, 0
    for bom, bom_encoding in BOMS:
        if head.startswith(bom):
            return bom_encoding, len(bom)
    return ("utf-8-sig", 0) if _is_utf8_file(path) else None


def _is_utf8_file(path: Path) -> bool:
    """Whether every byte of the file is UTF-8, read a chunk at a time."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as fh:
        try:
            while chunk := fh.read(CHECK_CHUNK_BYTES):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def _decoded_head(head: bytes, encoding: str) -> str:
    """The head's complete lines, for sniffing the delimiter."""
    return head[: head.rfind(b"\n") + 1].decode(encoding, errors="replace")


def _streamed_rows(
    path: Path, encoding: str, skip: int, delimiter: str, where: str
) -> Iterator[list[CellValue]]:
    with path.open("rb") as fh:
        fh.seek(skip)
        # newline="\n": lines split as in the file, `\r\n` inside quotes kept (as StringIO).
        text = io.TextIOWrapper(fh, encoding=encoding, newline="\n")
        try:
            yield from _rows(text, delimiter, where)
        except UnicodeDecodeError as err:
            raise UnreadableSourceError(f"{where}: cannot decode as {encoding}: {err}") from err


def _rows(lines: Iterable[str], delimiter: str, where: str) -> Iterator[list[CellValue]]:
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        for row in reader:
            yield [_cell(v) for v in row]
    except csv.Error as err:
        raise UnreadableSourceError(
            f"{where}: malformed CSV near line {reader.line_num}: {err}"
        ) from err


register("csv", CsvSource(), suffixes=(".csv", ".tsv", ".txt"))
