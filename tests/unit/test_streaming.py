"""Big lists are streamed: the first rows are read and mapped, the others are read once, as they
are landed, so a worker's memory does not grow with the list. A streamed list must read exactly
as the same list read whole."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from loader.config import PROJECT_ROOT, get_settings
from loader.exceptions import LimitExceededError, UnreadableSourceError
from loader.mapping import map_sheet
from loader.sources import csv_file, get_source, limits
from loader.sources.base import HEAD_ROWS, Sheet
from loader.sources.csv_file import CsvConfig


def write_list(path: Path, rows: int, encoding: str = "utf-8", blank_tail: int = 0) -> None:
    with path.open("w", newline="", encoding=encoding) as fh:
        out = csv.writer(fh, delimiter=";")
        out.writerow(["Прайс-лист ООО «Тест»"])
        out.writerow(["Артикул", "Наименование", "Цена, руб.", "Бренд", "Описание"])
        for i in range(rows):
            if i % 997 == 5:
                out.writerow([])  # a blank row inside the list keeps its row number
            out.writerow([f"A-{i:07d}", f"Кабель ВВГнг 3х{i % 7},5", f"{i % 900 + 1} 234,56",
                          "Кабэкс", f"Описание {i}; с \"кавычками\"\nи переносом"])  # fmt: skip
        for _ in range(blank_tail):
            out.writerow([])


def read(path: Path) -> Sheet:
    return next(iter(get_source("csv").read(CsvConfig(path=path))))


def every_row(sheet: Sheet) -> list[list[object]]:
    return sheet.rows + list(sheet.rest or [])


def stream_from_64_kb(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files over 64 KB are streamed, so that small test files are."""
    monkeypatch.setattr(csv_file, "STREAM_HEAD_BYTES", 64 * 1024)


def read_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files of any size decoded whole, as before streaming."""
    monkeypatch.setattr(csv_file, "STREAM_HEAD_BYTES", 1 << 40)


def test_a_big_list_is_streamed_and_reads_as_the_whole_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.csv"
    write_list(path, 5_000, blank_tail=3)
    stream_from_64_kb(monkeypatch)
    streamed = read(path)
    assert len(streamed.rows) == HEAD_ROWS and streamed.rest is not None
    streamed_rows = every_row(streamed)
    read_whole(monkeypatch)
    whole = read(path)
    assert streamed_rows == every_row(whole)
    assert len(streamed_rows) == 2 + 5_000 + 6  # title, header, rows, inner blanks; no tail
    assert streamed_rows[-1][0] == "A-0004999"


def test_a_streamed_list_maps_and_keys_rows_as_the_whole_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.csv"
    write_list(path, 3_000)
    stream_from_64_kb(monkeypatch)
    streamed = map_sheet(read(path))
    assert streamed.rest is not None
    read_whole(monkeypatch)
    whole = map_sheet(read(path))
    assert streamed.mapping.as_dict() == whole.mapping.as_dict()
    assert list(streamed.iter_rows()) == list(whole.iter_rows())
    assert streamed.row_count == whole.row_count == 3_000 + 4


def test_a_big_windows_1251_list_is_decoded_whole_and_reads_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "1c.csv"
    write_list(path, 2_000, encoding="cp1251")
    stream_from_64_kb(monkeypatch)
    rows = every_row(read(path))
    assert rows[1][:3] == ["Артикул", "Наименование", "Цена, руб."]
    assert rows[-1][1] == "Кабель ВВГнг 3х4,5"  # row 1999: 1999 % 7 == 4


def test_a_bad_row_past_the_head_names_the_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "broken.csv"
    write_list(path, 3_000)
    with path.open("a", encoding="utf-8", newline="") as fh:
        fh.write(f"B-1;{'x' * 500};1\n")  # over csv's field limit, set low below
    stream_from_64_kb(monkeypatch)
    saved = csv.field_size_limit(400)
    try:
        sheet = read(path)
        with pytest.raises(UnreadableSourceError, match=r"broken\.csv: malformed CSV near line"):
            every_row(sheet)
    finally:
        csv.field_size_limit(saved)


def test_rows_over_the_limit_past_the_head_stop_the_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "long.csv"
    write_list(path, 3_000)
    stream_from_64_kb(monkeypatch)
    monkeypatch.setattr(get_settings(), "max_rows", 2_500)
    sheet = read(path)
    limits.check_sheet(sheet, str(path))  # the head is within the limit
    with pytest.raises(LimitExceededError, match=r"long\.csv, sheet 'long\.csv': more than 2500"):
        every_row(sheet)


def test_memory_while_reading_a_list_does_not_grow_with_the_list(tmp_path: Path) -> None:
    """What a worker holds while landing a big list: a fixed head, not the list."""

    def peak_while_reading(rows: int) -> tuple[int, int]:
        path = tmp_path / f"list-{rows}.csv"
        write_list(path, rows)
        tracemalloc.start()
        try:
            mapped = map_sheet(read(path))
            count = sum(1 for _ in mapped.iter_rows())
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert count == rows + len(range(5, rows, 997))  # and the blank rows
        return peak, path.stat().st_size

    small, _ = peak_while_reading(20_000)
    big, size = peak_while_reading(200_000)
    # Read whole, 200,000 rows take several times the file's 28 MB as Python objects.
    assert big < small * 1.5, f"{big / 1e6:.1f} MB for 200k rows, {small / 1e6:.1f} MB for 20k"
    assert big < size / 2


def test_a_big_list_in_an_encoding_that_does_not_exist_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.csv"
    write_list(path, 2_000)
    stream_from_64_kb(monkeypatch)
    with pytest.raises(UnreadableSourceError, match=r"big\.csv: cannot decode as klingon"):
        next(iter(get_source("csv").read(CsvConfig(path=path, encoding="klingon"))))


def test_a_big_list_that_is_not_in_its_configured_encoding_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.csv"
    write_list(path, 2_000)  # UTF-8, with Cyrillic text
    stream_from_64_kb(monkeypatch)
    with pytest.raises(UnreadableSourceError, match=r"big\.csv: cannot decode as ascii"):
        next(iter(get_source("csv").read(CsvConfig(path=path, encoding="ascii"))))


def test_a_worker_lands_arrow_batches_with_the_system_allocator() -> None:
    """pyarrow's own allocator (mimalloc) kept the memory of the batches dlt rewrites while
    landing: a 1M-row list's peak grew with the list, to 594 MB (docs/performance.md). A fresh
    process that imports the task's code allocates Arrow memory with the system allocator."""
    code = (
        "import loader.jobs, pyarrow\n"
        "pyarrow.array(['a cell'])\n"
        "print(pyarrow.default_memory_pool().backend_name)"
    )
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    ran = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "system"
