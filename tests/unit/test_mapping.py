"""Header detection and column mapping on real, hard and hand-built price lists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loader.exceptions import NoDataRowsError
from loader.mapping import map_sheet, normalise_header, snake_key
from loader.mapping.header import detect_header
from loader.mapping.matching import best_match, header_meaning
from loader.mapping.memory import RememberedMapping
from loader.mapping.text import column_letter, is_ean
from loader.preview import preview
from loader.sources import file_source_type, get_source
from loader.sources.base import Sheet
from loader.sources.csv_file import CsvConfig
from loader.task import ParseTask
from tests.helpers import REAL, write_csv

HARD = Path(__file__).resolve().parents[2] / "samples" / "hard"
ROLE_TO_FIELD = {"sku": "supplier_sku", "name": "name", "price": "price"}


def _labelled(folder: Path) -> list[tuple[Path, dict]]:
    labels = json.loads((folder / "labels.json").read_text(encoding="utf-8"))
    return [(folder / label["file"], label) for label in labels]


LABELLED = _labelled(REAL) + _labelled(HARD)


def _preview(path: Path, **task: object) -> dict:
    source = {"type": file_source_type(path.name), "path": str(path)}
    return preview(
        ParseTask.parse({"task_id": "t", "supplier": {"code": "s"}, "source": source, **task})
    )


@pytest.mark.parametrize(("path", "label"), LABELLED, ids=[p.name for p, _ in LABELLED])
def test_labelled_lists_map_like_a_careful_person(path: Path, label: dict) -> None:
    decision = _preview(path)

    assert decision["header_row"] == label["header_row"]
    for role, field in ROLE_TO_FIELD.items():
        assert decision["fields"][field] == label["column_index"].get(role), field
    assert decision["status"] == "mapped", decision["review"]
    if "n_item_rows" in label:
        assert decision["rows_previewed"] == label["n_item_rows"]


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
    assert weight.unit == "kg" and weight.characteristic_key == "weight_kg"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (["Код товара", "Номенклатура", "Стоимость"], ("Код товара", "Номенклатура", "Стоимость")),
        (["Арт.", "Товар", "Цена с НДС, ₽"], ("Арт.", "Товар", "Цена с НДС, ₽")),
        (["Product Code", "Description", "Unit Price"],
         ("Product Code", "Description", "Unit Price")),
        (["Part Number", "Name", "Price (HKD)"], ("Part Number", "Name", "Price (HKD)")),
        (["Referencia", "Modelo", "PVP"], ("Referencia", "Modelo", "PVP")),
        (["Artikel", "Omschrijving", "Prijs"], ("Artikel", "Omschrijving", "Prijs")),
        (["Item No", "Item Description", "MRP"], ("Item No", "Item Description", "MRP")),
        (["КОД", "НАИМ.", "ЦЕНЫ"], ("КОД", "НАИМ.", "ЦЕНЫ")),
        (["Артикул", "Наименовние", "Цена_руб"], ("Артикул", "Наименовние", "Цена_руб")),
    ],
)  # fmt: skip
def test_russian_english_and_european_headers(
    headers: list[str], expected: tuple[str, str, str]
) -> None:
    mapped = map_sheet(_sheet([headers, ["X1", "Thing one", "10"], ["X2", "Thing two", "20"]]))
    got = tuple(mapped.mapping.column_for(f).header for f in ("supplier_sku", "name", "price"))  # type: ignore[union-attr]
    assert got == expected


@pytest.mark.parametrize(
    ("header", "meaning", "reason"),
    [
        ("Артикул", "supplier_sku", "exact"),
        ("Цена с НДС", "price", "synonym"),
        ("Наименовние", "name", "fuzzy"),
        ("Код EAN", "barcode", "exact"),
        ("Кол-во", "stock", "exact"),
        ("Артикул производителя", "manufacturer_code", "exact"),
        ("Остаток на складе", "stock", "synonym"),
    ],
)
def test_every_header_match_has_a_score_and_a_reason(
    header: str, meaning: str, reason: str
) -> None:
    match = best_match(header)
    assert match is not None and (match.meaning, match.reason) == (meaning, reason)
    assert (match.score == 100) == (reason == "exact")


@pytest.mark.parametrize(
    ("header", "currency", "unit", "vat", "kind", "band"),
    [
        ("Цена, руб.", "RUB", None, None, None, None),
        ("Price (HKD)", "HKD", None, None, None, None),
        ("Цена с НДС, ₽", "RUB", None, True, None, None),
        ("Цена без НДС", None, None, False, None, None),
        ("Вес, кг", None, "kg", None, None, None),
        ("Цена опт", None, None, None, "wholesale", None),
        ("MRP", None, None, None, "retail", None),
        ("Цена от 10 шт", None, "pcs", None, None, 10),
    ],
)
def test_meaning_inside_headers(
    header: str, currency: str | None, unit: str | None, vat: bool | None, kind: str | None,
    band: int | None,
) -> None:  # fmt: skip
    meaning = header_meaning(header)
    assert (meaning.currency, meaning.unit, meaning.vat_included) == (currency, unit, vat)
    assert (meaning.price_kind, meaning.min_quantity) == (kind, band)


def test_main_price_is_the_best_match_and_other_prices_keep_their_meaning() -> None:
    mapped = map_sheet(
        _sheet(
            [
                ["Код", "Наименование", "Цена опт", "Цена розн", "Цена от 10 шт", "Price, USD"],
                ["1", "Дрель", "100", "120", "95", "1.5"],
            ]
        )
    )
    assert mapped.mapping.column_for("price").header == "Цена опт"  # type: ignore[union-attr]
    keys = {c.header: c.characteristic_key for c in mapped.mapping.columns if not c.field}
    assert keys == {
        "Цена розн": "price_retail",
        "Цена от 10 шт": "price_from_10",
        "Price, USD": "price_usd",
    }


def test_plain_price_beats_a_qualified_one() -> None:
    mapped = map_sheet(_sheet([["Name", "Price incl. VAT", "Price"], ["Nail", "12", "10"]]))
    assert mapped.mapping.column_for("price").header == "Price"  # type: ignore[union-attr]


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


def test_a_running_number_column_is_never_the_code() -> None:
    rows = [[str(i), f"Товар номер {i}", f"{i * 10}.50"] for i in range(1, 8)]
    mapped = map_sheet(_sheet(rows))
    assert mapped.mapping.column_for("supplier_sku") is None
    assert mapped.mapping.column_for("price").index == 2  # type: ignore[union-attr]


def test_a_currency_column_is_found_from_its_values() -> None:
    rows = [
        ["A1", "Болт оцинкованный", "12.50", "USD"],
        ["A2", "Гайка шестигранная", "3.10", "USD"],
    ]
    mapped = map_sheet(_sheet(rows * 3))
    currency = mapped.mapping.column_for("currency")
    assert currency is not None and currency.index == 3 and mapped.mapping.currency == "USD"


def test_ean_checksums() -> None:
    assert is_ean("4601234567893") and is_ean(4006381333931) and is_ean("96385074")
    assert not is_ean("4601234567890") and not is_ean("12345")


def test_manual_override_wins() -> None:
    mapped = map_sheet(
        _sheet([["Code", "Model", "Price", "Notes"], ["1", "A", "5", "x"]]),
        overrides={"Model": "name", "Notes": "ignore", "Code": "characteristic:internal_code"},
    )
    name = mapped.mapping.column_for("name")
    assert name is not None and (name.header, name.reason, name.score) == ("Model", "override", 100)
    notes = next(c for c in mapped.mapping.columns if c.header == "Notes")
    assert notes.field is None and notes.characteristic_key is None and notes.reason == "ignored"
    code = next(c for c in mapped.mapping.columns if c.header == "Code")
    assert code.field is None and code.characteristic_key == "internal_code"


def test_duplicate_and_blank_headers_keep_every_column() -> None:
    mapped = map_sheet(_sheet([["Name", "Price", "Price", None], ["Nail", "1", "2", "note"]]))
    assert [c.key for c in mapped.mapping.columns] == ["Name", "Price", "Price__C", "col_d"]
    assert mapped.rows[0][1] == {"Name": "Nail", "Price": "1", "Price__C": "2", "col_d": "note"}


def test_header_without_rows_is_a_clear_error() -> None:
    with pytest.raises(NoDataRowsError, match="header on row 1 but no data rows"):
        map_sheet(_sheet([["Артикул", "Наименование", "Цена"], [None, None]]), where="list.csv")


def test_empty_sheet_is_a_clear_error() -> None:
    with pytest.raises(NoDataRowsError, match="list.csv, sheet 'S': the sheet is empty"):
        map_sheet(_sheet([[None], []]), where="list.csv")


def test_no_price_column_needs_review_and_names_the_candidates() -> None:
    mapped = map_sheet(
        _sheet([["Артикул", "Наименование", "Примечание"], ["A1", "Гвозди", "скоро"]])
    )
    assert mapped.mapping.needs_review
    assert mapped.mapping.review == ["no column can be the price"]
    message = mapped.mapping.review_message()
    assert "no column can be the price" in message and "'Наименование' (column B" in message


def test_two_lookalike_price_columns_without_a_header_need_review() -> None:
    rows = [[f"A{i}", f"Товар {i} шт", f"{100 + i}.00", f"{120 + i}.00"] for i in range(6)]
    mapped = map_sheet(_sheet(rows))
    assert mapped.mapping.needs_review
    assert "price" in mapped.mapping.review[0] and "weak guess" in mapped.mapping.review[0]
    assert {c.column for c in mapped.mapping.candidates["price"]} == {2, 3}


def test_two_row_header_from_a_merged_group() -> None:
    sheet = Sheet(
        name="S",
        rows=[
            ["Артикул", "Наименование", "Цена", None],
            [None, None, "опт", "розн"],
            ["A1", "Дрель", 100, 120],
        ],
        merges=[(0, 2, 0, 3)],
    )
    header = detect_header(sheet.rows, sheet.merges)
    assert (header.row, header.rows, header.data_start) == (0, (0, 1), 2)
    assert header.texts == ("Артикул", "Наименование", "Цена опт", "Цена розн")


def test_a_title_row_above_the_header_is_not_a_header_group() -> None:
    rows = [["Прайс-лист", None, None], ["Артикул", "Наименование", "Цена"], ["A1", "Дрель", "5"]]
    header = detect_header(rows)  # type: ignore[arg-type]
    assert header.rows == (1,) and header.texts == ("Артикул", "Наименование", "Цена")


def test_no_code_column_marks_identity_attributes() -> None:
    mapped = map_sheet(
        _sheet(
            [["Товар", "Бренд", "Объем", "Остаток", "Цена"], ["Краска", "Dulux", "2,5 л", 3, 10]]
        )
    )
    identity = [c.header for c in mapped.mapping.columns if c.identity]
    assert identity == ["Бренд", "Объем"]


def _layout(headers: list[str], overrides: dict[str, str] | None = None) -> RememberedMapping:
    rows = [headers, ["X-1", "Саморез 3,5х35", "1 234,56", "10", "уп"][: len(headers)]]
    return RememberedMapping.of(map_sheet(_sheet(rows), overrides=overrides).mapping)


def test_memory_reuses_the_same_header_as_it_was() -> None:
    memory = [_layout(["Поз.", "Инфо", "Сумма"], {"Поз.": "supplier_sku", "Инфо": "name",
                                                   "Сумма": "price"})]  # fmt: skip
    mapped = map_sheet(_sheet([["Поз.", "Инфо", "Сумма"], ["Y-2", "Дюбель 6х40", "5"]]),
                       memory=memory)  # fmt: skip
    m = mapped.mapping
    assert {c.field: (c.header, c.reason, c.score) for c in m.columns if c.field} == {
        "supplier_sku": ("Поз.", "supplier_history", 100),
        "name": ("Инфо", "supplier_history", 100),
        "price": ("Сумма", "supplier_history", 100),
    }
    assert m.memory is not None and m.memory.exact and not m.needs_review


def test_memory_follows_moved_columns_and_records_added_ones() -> None:
    memory = [_layout(["Поз.", "Инфо", "Сумма"], {"Поз.": "supplier_sku", "Инфо": "name",
                                                   "Сумма": "price"})]  # fmt: skip
    drifted = [["Сумма", "Поз.", "Остаток", "Инфо"], ["5", "Y-2", "7", "Дюбель 6х40"]]
    m = map_sheet(_sheet(drifted), memory=memory).mapping
    assert {c.field: c.header for c in m.columns if c.field} == {
        "supplier_sku": "Поз.",
        "name": "Инфо",
        "price": "Сумма",
    }
    assert all(c.reason == "supplier_history" for c in m.columns if c.field)
    assert m.memory is not None and not m.memory.exact
    assert m.memory.added == ["Остаток"] and m.memory.removed == []
    assert m.memory.moved == ["Поз.: A -> B", "Инфо: B -> D", "Сумма: C -> A"]


def test_overrides_win_over_memory() -> None:
    memory = [_layout(["Код", "Товар", "Цена опт", "Цена розн"])]
    assert memory[0].fields["price"] == 2
    m = map_sheet(
        _sheet([["Код", "Товар", "Цена опт", "Цена розн"], ["1", "Дрель", "100", "120"]]),
        overrides={"Цена розн": "price"},
        memory=memory,
    ).mapping
    price = m.column_for("price")
    assert price is not None and (price.header, price.reason) == ("Цена розн", "override")
    assert next(c for c in m.columns if c.header == "Цена опт").field is None


def test_a_different_layout_is_not_taken_from_memory() -> None:
    memory = [_layout(["Поз.", "Инфо", "Сумма"], {"Поз.": "supplier_sku", "Инфо": "name",
                                                   "Сумма": "price"})]  # fmt: skip
    m = map_sheet(
        _sheet([["Артикул", "Наименование", "Цена"], ["1", "Дрель", "100"]]), memory=memory
    ).mapping
    assert m.memory is None and all(c.reason == "exact" for c in m.columns if c.field)


def test_preview_reads_only_the_rows_it_needs(tmp_path: Path) -> None:
    lines = ["Артикул;Наименование;Цена"] + [f"A{i};Товар {i};{i}.50" for i in range(5000)]
    path = write_csv(tmp_path / "big.csv", lines)
    sheet = next(get_source("csv").read(CsvConfig(path=path), max_rows=100))
    assert len(sheet.rows) == 100
    decision = _preview(path)
    assert decision["rows_previewed"] < 1000
    assert decision["fields"] == {"supplier_sku": 0, "name": 1, "price": 2}


def test_preview_json_counts_blank_rows_and_empty_leading_columns() -> None:
    decision = _preview(HARD / "leading_empty_column.csv")
    assert decision["header_row"] == 1
    assert decision["fields"] == {"supplier_sku": 1, "name": 2, "price": 3}
    assert decision["currency"] == "HKD"
    assert decision["columns"][0] == {
        **decision["columns"][0],
        "index": 0,
        "header": None,
        "field": None,
    }
    assert {"index", "header", "field", "score", "reason"} <= set(decision["columns"][1])


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
    assert detect_header([["1", "2"], ["3", "4"]]).row is None
