"""CSV and XLSX readers: encodings, delimiters, sheets, and clear errors for bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from loader.exceptions import EmptySourceError, SourceNotFoundError, UnreadableSourceError
from loader.sources import config_models, discover, get_source
from loader.sources.csv_file import CsvConfig, sniff_delimiter
from loader.sources.xlsx_file import XlsxConfig
from tests.helpers import write_csv, write_xlsx


def read_csv(path: Path, **kw: object) -> list[list[object]]:
    return next(get_source("csv").read(CsvConfig(path=path, **kw))).rows  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("cp1251", b""), ("utf-16", b"")],
    ids=["utf8", "utf8-bom", "windows-1251", "utf16-bom"],
)
def test_csv_encodings(tmp_path: Path, encoding: str, prefix: bytes) -> None:
    lines = [
        "Артикул;Наименование;Цена",
        "А-1;Кабель медный ВВГнг;1 165,00р.",
        "А-2;Розетка двойная;245,50р.",
    ]
    path = tmp_path / "list.csv"
    path.write_bytes(prefix + "\r\n".join(lines * 3).encode(encoding))
    rows = read_csv(path)
    assert rows[0] == ["Артикул", "Наименование", "Цена"]
    assert rows[1] == ["А-1", "Кабель медный ВВГнг", "1 165,00р."]


@pytest.mark.parametrize("delimiter", [";", ",", "\t", "|"])
def test_delimiter_is_sniffed(tmp_path: Path, delimiter: str) -> None:
    rows = [["Code", "Name", "Price"], ["A1", "Bolt, M6 (steel)", "1.50"], ["A2", "Nut", "0.20"]]
    text = "\n".join(
        delimiter.join(f'"{c}"' if delimiter in c or "," in c else c for c in r) for r in rows
    )
    assert sniff_delimiter(text) == delimiter
    path = write_csv(tmp_path / "l.csv", [text])
    assert read_csv(path)[1] == ["A1", "Bolt, M6 (steel)", "1.50"]


def test_blank_lines_keep_row_numbers_and_trailing_ones_are_dropped(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "l.csv", ["a;b", "1;2", "", "3;4", "", ""])
    assert read_csv(path) == [["a", "b"], ["1", "2"], [], ["3", "4"]]


def test_configured_delimiter_and_encoding_win(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "l.csv", ["a,b;c", "1,2;3"], encoding="cp1251")
    assert read_csv(path, delimiter=";", encoding="cp1251")[1] == ["1,2", "3"]
    with pytest.raises(UnreadableSourceError, match="cannot decode as ascii"):
        write_csv(tmp_path / "r.csv", ["цена"], encoding="utf-8")
        read_csv(tmp_path / "r.csv", encoding="ascii")


def test_missing_empty_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError, match="nope.csv: file not found"):
        read_csv(tmp_path / "nope.csv")
    (tmp_path / "empty.csv").write_bytes(b"  \n\n")
    with pytest.raises(EmptySourceError, match="empty.csv: file is empty"):
        read_csv(tmp_path / "empty.csv")
    (tmp_path / "bin.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 10)
    with pytest.raises(UnreadableSourceError, match="bin.csv: binary data"):
        read_csv(tmp_path / "bin.csv")
    with pytest.raises(SourceNotFoundError, match="not a regular file"):
        read_csv(tmp_path)


def read_xlsx(path: Path, sheet: str | int | None = None) -> list[tuple[str, list[list[object]]]]:
    return [(s.name, s.rows) for s in get_source("xlsx").read(XlsxConfig(path=path, sheet=sheet))]  # type: ignore[misc]


def test_xlsx_types_and_sheet_choice(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "l.xlsx",
        {
            "Крепёж": [
                ["Арт.", "Наименование", "Цена"],
                ["000123", "Саморез", 12.5],
                [8085, "Дюбель", 3],
            ],
            "Пусто": [],
            "Инструмент": [["Код", "Товар", "Цена"], ["T-1", "Дрель", "1 234,56"]],
        },
    )
    sheets = read_xlsx(path)
    assert [name for name, _ in sheets] == ["Крепёж", "Пусто", "Инструмент"]
    assert sheets[0][1][1] == ["000123", "Саморез", 12.5]  # text code keeps its zeros
    assert sheets[0][1][2] == [8085, "Дюбель", 3]  # whole numbers are ints, not 8085.0
    assert read_xlsx(path, "Инструмент")[0][1][1] == ["T-1", "Дрель", "1 234,56"]
    assert read_xlsx(path, 0)[0][0] == "Крепёж"


def test_xlsx_errors_name_the_file_and_the_problem(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "l.xlsx", {"A": [["x"]]})
    with pytest.raises(SourceNotFoundError, match=r"no sheet 'B'; the workbook has \['A'\]"):
        read_xlsx(path, "B")
    with pytest.raises(SourceNotFoundError, match="no sheet 3"):
        read_xlsx(path, 3)
    (tmp_path / "fake.xlsx").write_text("Code;Name;Price\n1;a;2\n")
    with pytest.raises(UnreadableSourceError, match="fake.xlsx: not an XLSX workbook"):
        read_xlsx(tmp_path / "fake.xlsx")
    (tmp_path / "broken.xlsx").write_bytes(b"PK\x03\x04" + b"\x00garbage" * 50)
    with pytest.raises(UnreadableSourceError, match="broken.xlsx: cannot open workbook"):
        read_xlsx(tmp_path / "broken.xlsx")


def test_registry_knows_every_plugin() -> None:
    assert {"csv", "xlsx"} <= set(discover())
    assert {m.model_fields["type"].default for m in config_models()} >= {"csv", "xlsx"}
    with pytest.raises(KeyError, match="unknown source type 'ftp'"):
        get_source("ftp")
