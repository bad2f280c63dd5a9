"""Header detection and column mapping on real and real-looking price lists."""

from __future__ import annotations

import json

import pytest

from loader.exceptions import MappingError, NoDataRowsError
from loader.mapping import column_letter, detect_header_row, map_sheet, normalise_header, snake_key
from loader.sources import get_source
from loader.sources.base import Sheet
from loader.sources.csv_file import CsvConfig
from tests.helpers import REAL

LABELS = json.loads((REAL / "labels.json").read_text(encoding="utf-8"))
ROLE_TO_FIELD = {"sku": "supplier_sku", "name": "name", "price": "price"}


@pytest.mark.parametrize("label", LABELS, ids=[lbl["file"] for lbl in LABELS])
def test_real_lists_map_like_a_careful_person(label: dict) -> None:
    sheet = next(get_source("csv").read(CsvConfig(path=REAL / label["file"])))
    mapped = map_sheet(sheet)

    expected_header = None if label["header_row"] is None else label["header_row"] + 1
    assert mapped.mapping.header_row == expected_header
    got = {c.field: c.index for c in mapped.mapping.columns if c.field}
    for role, field in ROLE_TO_FIELD.items():
        if role in label["column_index"]:
            assert got.get(field) == label["column_index"][role], field
    assert len(mapped.rows) == label["n_item_rows"]


def _sheet(rows: list[list[object]]) -> Sheet:
    return Sheet(name="S", rows=rows)  # type: ignore[arg-type]


def test_title_rows_above_the_header_are_skipped() -> None:
    mapped = map_sheet(
        _sheet(
            [
                ["ООО «Ромашка»"],
                ["Прайс-лист на 01.11.2026", None, "тел. 8-800"],
                [],
                ["Артикул", "Наименование", "Цена, руб.", "Вес, кг"],
                ["A-1", "Гвозди", "100", "1"],
            ]
        )
    )
    assert mapped.mapping.header_row == 4
    assert [r[0] for r in mapped.rows] == [5]
    price = mapped.mapping.column_for("price")
    assert price is not None and price.currency == "RUB"
    weight = next(c for c in mapped.mapping.columns if c.header == "Вес, кг")
    assert weight.unit == "kg" and weight.characteristic_key == "вес_кг"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (["Код товара", "Номенклатура", "Стоимость"], ("Код товара", "Номенклатура", "Стоимость")),
        (["Арт.", "Товар", "Цена с НДС, ₽"], ("Арт.", "Товар", "Цена с НДС, ₽")),
        (
            ["Product Code", "Description", "Unit Price"],
            ("Product Code", "Description", "Unit Price"),
        ),
        (["Part Number", "Name", "Price (HKD)"], ("Part Number", "Name", "Price (HKD)")),
        (["Referencia", "Modelo", "PVP"], ("Referencia", "Modelo", "PVP")),
        (["Artikel", "Omschrijving", "Prijs"], ("Artikel", "Omschrijving", "Prijs")),
    ],
)
def test_russian_english_and_european_headers(
    headers: list[str], expected: tuple[str, str, str]
) -> None:
    mapped = map_sheet(_sheet([headers, ["X1", "Thing one", "10"], ["X2", "Thing two", "20"]]))
    got = tuple(mapped.mapping.column_for(f).header for f in ("supplier_sku", "name", "price"))  # type: ignore[union-attr]
    assert got == expected


def test_main_price_is_the_best_match_and_other_prices_stay_characteristics() -> None:
    mapped = map_sheet(
        _sheet(
            [
                ["Код", "Наименование", "Цена опт", "Цена розн"],
                ["1", "Дрель", "100", "120"],
            ]
        )
    )
    assert mapped.mapping.column_for("price").header == "Цена опт"  # type: ignore[union-attr]
    retail = next(c for c in mapped.mapping.columns if c.header == "Цена розн")
    assert retail.field is None and retail.characteristic_key == "цена_розн"


def test_headerless_list_is_mapped_from_values() -> None:
    mapped = map_sheet(
        _sheet(
            [
                ["3774", "Хурма", "407.00"],
                ["768", "Бананы спелые", "88.00"],
                ["778", "Киви золотое", "130.90"],
            ]
        )
    )
    assert mapped.mapping.header_row is None
    assert {c.field: c.key for c in mapped.mapping.columns if c.field} == {
        "supplier_sku": "col_a",
        "name": "col_b",
        "price": "col_c",
    }
    assert all(c.reason == "value_pattern" for c in mapped.mapping.columns if c.field)


def test_manual_override_wins() -> None:
    mapped = map_sheet(
        _sheet([["Code", "Model", "Price", "Notes"], ["1", "A", "5", "x"]]),
        overrides={"Model": "name", "Notes": "ignore", "Code": "characteristic:internal_code"},
    )
    assert mapped.mapping.column_for("name").header == "Model"  # type: ignore[union-attr]
    assert mapped.mapping.column_for("name").reason == "manual_override"  # type: ignore[union-attr]
    notes = next(c for c in mapped.mapping.columns if c.header == "Notes")
    assert notes.field is None and notes.characteristic_key is None
    code = next(c for c in mapped.mapping.columns if c.header == "Code")
    assert code.field is None and code.characteristic_key == "internal_code"


def test_duplicate_and_blank_headers_keep_every_column() -> None:
    mapped = map_sheet(
        _sheet(
            [
                ["Name", "Price", "Price", None],
                ["Nail", "1", "2", "note"],
            ]
        )
    )
    assert [c.key for c in mapped.mapping.columns] == ["Name", "Price", "Price__C", "col_d"]
    assert mapped.rows[0][1] == {"Name": "Nail", "Price": "1", "Price__C": "2", "col_d": "note"}


def test_header_without_rows_is_a_clear_error() -> None:
    with pytest.raises(NoDataRowsError, match="header on row 1 but no data rows"):
        map_sheet(_sheet([["Артикул", "Наименование", "Цена"], [None, None]]), where="list.csv")


def test_empty_sheet_is_a_clear_error() -> None:
    with pytest.raises(NoDataRowsError, match="list.csv, sheet 'S': the sheet is empty"):
        map_sheet(_sheet([[None], []]), where="list.csv")


def test_no_price_column_names_the_columns_seen() -> None:
    with pytest.raises(MappingError, match=r"no column found for price.*Артикул"):
        map_sheet(
            _sheet([["Артикул", "Наименование"], ["A1", "Гвозди строительные"]]), where="x.csv"
        )


@pytest.mark.parametrize(
    ("text", "base", "qualifier"),
    [
        ("Цена, руб.", "цена", "руб"),
        ("Price (HKD)", "price", "hkd"),
        ("Ёмкость", "емкость", ""),
        ("Product_Name", "product name", ""),
    ],
)
def test_normalise_header(text: str, base: str, qualifier: str) -> None:
    assert normalise_header(text) == (base, qualifier)


def test_keys_and_letters() -> None:
    assert [column_letter(i) for i in (0, 25, 26, 701)] == ["A", "Z", "AA", "ZZ"]
    assert snake_key("Остаток на складе") == "остаток_на_складе"
    assert detect_header_row([["1", "2"], ["3", "4"]]) is None
