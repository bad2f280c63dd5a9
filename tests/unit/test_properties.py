"""Property-based tests: whatever a supplier sends, readers, header detection and number parsing
end in a result or in one of the project's typed errors, never in anything else."""

from __future__ import annotations

import contextlib
import io
import tempfile
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from loader.exceptions import LoaderError, NoDataRowsError
from loader.mapping import map_sheet
from loader.mapping.header import detect_header
from loader.mapping.text import as_number
from loader.sources import get_source
from loader.sources.base import Sheet
from loader.sources.csv_file import CsvConfig
from loader.sources.xlsx_file import XlsxConfig

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

cell = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.sampled_from(["Артикул", "Наименование", "Цена", "Price", "Code", "1 234,56", "—", "=A1"]),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False),
)
grid = st.lists(st.lists(cell, max_size=8), max_size=25)


def _read(source_type: str, data: bytes, suffix: str) -> list[Sheet]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"list{suffix}"
        path.write_bytes(data)
        config = CsvConfig(path=path) if source_type == "csv" else XlsxConfig(path=path)
        return list(get_source(source_type).read(config))


@FAST
@given(st.binary(max_size=2000))
def test_the_csv_reader_reads_any_bytes_or_says_why(data: bytes) -> None:
    try:
        sheets = _read("csv", data, ".csv")
    except LoaderError:
        return
    assert all(isinstance(v, str | None) for s in sheets for r in s.rows for v in r)


@FAST
@given(st.lists(st.lists(st.text(max_size=12), max_size=6), min_size=1, max_size=12),
       st.sampled_from([";", ",", "\t"]))  # fmt: skip
def test_text_the_csv_reader_accepts_keeps_every_non_empty_cell(
    rows: list[list[str]], delimiter: str
) -> None:
    text = "\n".join(
        delimiter.join(f'"{c.replace(chr(34), chr(34) * 2)}"' for c in r) for r in rows
    )
    try:
        sheets = _read("csv", text.encode("utf-8"), ".csv")
    except LoaderError:
        return
    read = {v for s in sheets for r in s.rows for v in r if v is not None}
    written = {c for r in rows for c in r if c.strip() and "\x00" not in c and "\r" not in c}
    assert written <= read | {c.replace("\r", "") for c in written}


def _xlsx() -> bytes:
    wb = Workbook()
    wb.active.append(["Артикул", "Наименование", "Цена"])
    wb.active.append(["A-1", "Болт", 10])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


VALID_XLSX = _xlsx()


@FAST
@given(st.lists(st.tuples(st.integers(0, len(VALID_XLSX) - 1), st.integers(0, 255)), max_size=8),
       st.integers(min_value=0, max_value=len(VALID_XLSX)))  # fmt: skip
@example(flips=[(46, 0)], cut=4925)  # a damaged deflate block (zlib.error), found in CI
def test_the_xlsx_reader_survives_corrupted_and_truncated_workbooks(
    flips: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(VALID_XLSX[: max(cut, 4)])
    for at, value in flips:
        if at < len(data):
            data[at] = value
    with contextlib.suppress(LoaderError):
        _read("xlsx", bytes(data), ".xlsx")


@FAST
@given(grid)
def test_mapping_any_grid_gives_a_mapping_or_a_typed_error(rows: list[list[object]]) -> None:
    sheet = Sheet(name="S", rows=rows)  # type: ignore[arg-type]
    try:
        mapped = map_sheet(sheet)
    except NoDataRowsError:
        return
    m = mapped.mapping
    width = max(len(r) for r in rows)
    assert m.header_row is None or 1 <= m.header_row <= len(rows)
    assert all(c.index < width for c in m.columns if c.field)
    assert len({c.field for c in m.columns if c.field}) == len([c for c in m.columns if c.field])
    assert len({c.key for c in m.columns}) == len(m.columns)  # no column lost to a duplicate key
    header = detect_header(rows)  # type: ignore[arg-type]
    assert len(mapped.rows) == len(rows) - header.data_start


money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999.99"), places=2)


@FAST
@given(money, st.sampled_from(["plain", "ru", "eu", "us", "nbsp", "rub", "usd"]))
def test_prices_written_in_any_common_style_read_back_as_the_same_number(
    value: Decimal, style: str
) -> None:
    whole, cents = f"{value:.2f}".split(".")
    groups = f"{int(whole):,}"
    text = {
        "plain": f"{whole}.{cents}",
        "ru": f"{groups.replace(',', ' ')},{cents}",
        "eu": f"{groups.replace(',', '.')},{cents}" if "," in groups else f"{whole},{cents}",
        "us": f"{groups}.{cents}",
        "nbsp": f"{groups.replace(',', chr(0xA0))},{cents}",
        "rub": f"{groups.replace(',', ' ')},{cents} руб.",
        "usd": f"${groups}.{cents}",
    }[style]
    parsed = as_number(text)
    assert parsed is not None and abs(Decimal(str(parsed)) - value) < Decimal("0.005"), text
