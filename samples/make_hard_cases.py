"""Generate samples/hard/: price lists built to be hard to map, with labels (run: `make samples`).

Each case is a trait real suppliers' lists have that the eight shared real lists do not cover
(title rows with merged sections in XLSX, two-row headers both ways, Windows-1251 1C exports with
two code columns, leading empty columns, headerless lists with a quantity beside the price...).
`labels.json` uses the shared labels' format: 0-based `header_row`, 0-based `column_index`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent / "hard"
LABELS: list[dict[str, Any]] = []


def label(file: str, header_row: int | None, sku: int | None, name: int, price: int,
          currency: str | None, notes: str) -> None:  # fmt: skip
    index = {"name": name, "price": price}
    if sku is not None:
        index["sku"] = sku
    LABELS.append(
        {
            "file": file,
            "header_row": header_row,
            "column_index": index,
            "currency": currency,
            "notes": notes,
        }
    )


def ean13(body: str) -> str:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def write_csv(name: str, lines: list[str], encoding: str = "utf-8") -> None:
    (HERE / name).write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))


def title_rows_merged_sections() -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "Прайс"
    ws.append(["ООО «Крепёж-Опт»", None, None, None, None])
    ws.merge_cells("A1:E1")
    ws.append(["Прайс-лист на 01.11.2026, тел. +7 (495) 123-45-67"])
    ws.append([])
    ws.append(["№", "Артикул", "Наименование", "Цена, руб.", "Наличие"])
    ws.append(["Анкеры"])
    ws.merge_cells("A5:E5")
    ws.append([1, "AN-0612", "Анкер клиновой 6х120", "1 234,56", "много"])
    ws.append([2, "AN-0816", "Анкер клиновой 8х160", "2 010,00", "мало"])
    ws.append([3, "AN-1020", "Анкер клиновой 10х200", "по запросу", None])
    ws.append(["Болты"])
    ws.merge_cells("A9:E9")
    ws.append([4, "BL-0630", "Болт DIN 933 М6х30", "12,50", "много"])
    ws.append([5, "BL-0840", "Болт DIN 933 М8х40", "18,90", "много"])
    wb.save(HERE / "title_rows_merged_sections.xlsx")
    label(
        "title_rows_merged_sections.xlsx",
        3,
        1,
        2,
        3,
        "RUB",
        "Merged company title, contact row with digits, a counter column, merged section rows.",
    )


def two_row_header_below() -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "Лист1"
    ws.append(["Прайс-лист ИП Сидоров"])
    ws.append(["Код", "Товар", "Цена", None, "Остаток"])
    ws.merge_cells("C2:D2")
    ws.append([None, None, "опт", "розн", None])
    ws.append(["1001", "Перфоратор SDS-plus 800 Вт", 5400, 6200, 3])
    ws.append(["1002", "Болгарка 125 мм 900 Вт", 3100, 3650, 8])
    ws.append(["1003", "Лобзик 650 Вт", 2800, 3300, 0])
    wb.save(HERE / "two_row_header_below.xlsx")
    label(
        "two_row_header_below.xlsx",
        1,
        0,
        1,
        2,
        None,
        "`Цена` merged over `опт | розн` on the row below; wholesale is the leftmost price.",
    )


def two_row_header_above_csv() -> None:
    write_csv(
        "two_row_header_above.csv",
        [
            ";;Цена, руб.;",
            "Артикул;Наименование;от 1 шт;от 10 шт",
            "K-01;Кабель ВВГнг 3х1,5;95,00;88,50",
            "K-02;Кабель ВВГнг 3х2,5;150,00;139,00",
            "K-03;Кабель NYM 3х1,5;110,00;101,00",
        ],
    )
    label(
        "two_row_header_above.csv",
        0,
        0,
        1,
        2,
        "RUB",
        "Price group above quantity bands, no merges (CSV); the smallest band is the price.",
    )


def one_c_export_cp1251() -> None:
    write_csv(
        "one_c_export_cp1251.csv",
        [
            "Прайс-лист;;;;;",
            "Организация: ООО Электромир;;;;;",
            ";;;;;",
            "Код;Артикул;Номенклатура;Ед. изм.;Цена;Валюта",
            "00-00001234;SE-EPH2900121;Розетка Schneider Etude белая;шт;189,90;руб.",
            "00-00001235;;Выключатель Legrand Valena одноклавишный;шт;245,00;руб.",
            "00-00001236;LG-774410;Рамка Legrand Valena 1 пост;шт;99,00;руб.",
        ],
        encoding="cp1251",
    )
    label(
        "one_c_export_cp1251.csv",
        3,
        0,
        2,
        4,
        "RUB",
        "1C export: Windows-1251, title rows, `Код` (always filled) and `Артикул` (not).",
    )


def leading_empty_column() -> None:
    write_csv(
        "leading_empty_column.csv",
        [
            ";;;",
            ";Part Number;Description;Price (HKD)",
            ";HK-100;LED driver 12V 30W;85.00",
            ";HK-101;LED driver 24V 60W;142.50",
            ";HK-102;LED strip 5m warm white;99.90",
        ],
    )
    label(
        "leading_empty_column.csv",
        1,
        1,
        2,
        3,
        "HKD",
        "Blank first line and an empty column A: indexes count them.",
    )


def headerless_with_quantity() -> None:
    write_csv(
        "headerless_with_quantity.csv",
        [
            "SKF-6204;Подшипник SKF 6204-2RS;12;415.00",
            "SKF-6205;Подшипник SKF 6205-2RS;4;468.50",
            "SKF-6206;Подшипник SKF 6206-2RS;25;612.00",
            "FAG-6204;Подшипник FAG 6204-2Z;7;389.90",
            "FAG-6305;Подшипник FAG 6305-2Z;2;702.00",
        ],
    )
    label(
        "headerless_with_quantity.csv",
        None,
        0,
        1,
        3,
        None,
        "No header; a whole-number stock column stands before the price.",
    )


def english_item_is_the_name() -> None:
    write_csv(
        "english_item_is_the_name.csv",
        [
            "Item,Unit,Unit Price,Total",
            "Stainless steel hinge 100mm,pcs,4.25,42.50",
            "Brass door handle classic,pcs,18.90,189.00",
            "Wood screws 4x40 box of 200,box,6.75,67.50",
        ],
    )
    label(
        "english_item_is_the_name.csv",
        0,
        None,
        0,
        2,
        None,
        "`Item` holds product names, not codes; `Unit Price` is the price, `Total` is not.",
    )


def german_with_typos() -> None:
    write_csv(
        "german_with_typos.csv",
        [
            "Artikelnr.;Bezeichung;Menge;Einzelpreis EUR",
            "4711-01;Kugelschreiber blau;100;0,45",
            "4711-02;Kugelschreiber rot;100;0,45",
            "4712-10;Textmarker gelb;50;0,89",
        ],
    )
    label(
        "german_with_typos.csv",
        0,
        0,
        1,
        3,
        "EUR",
        "German headers, a typo (`Bezeichung`), the currency inside the price header.",
    )


def ean_only_headerless() -> None:
    items = [("460123456789", "Молоко 3,2% 1 л", "89.90"),
             ("460700123456", "Кефир 2,5% 0,9 л", "79.50"),
             ("460012345678", "Сметана 20% 300 г", "119.00"),
             ("461234567890", "Творог 9% 200 г", "134.90")]  # fmt: skip
    write_csv("ean_only_headerless.csv", [f"{ean13(c)};{n};{p}" for c, n, p in items])
    label(
        "ean_only_headerless.csv",
        None,
        0,
        1,
        2,
        None,
        "No header; the only code is an EAN-13 barcode, names hold decimal commas.",
    )


def no_sku_brand_variants() -> None:
    write_csv(
        "no_sku_brand_variants.csv",
        [
            "Товар;Бренд;Объем;Цена, ₽",
            "Краски акриловые",
            "Краска интерьерная белая;Dulux;2,5 л;1 890",
            "Краска интерьерная белая;Dulux;10 л;6 490",
            "Краска интерьерная белая;Tikkurila;2,7 л;2 150",
            "Грунтовки",
            "Грунт глубокого проникновения;Ceresit;10 л;990",
        ],
    )
    label(
        "no_sku_brand_variants.csv",
        0,
        None,
        0,
        3,
        "RUB",
        "No code column: the same name with other brands and volumes; section rows.",
    )


def spanish_semicolon_title() -> None:
    write_csv(
        "spanish_title_rows.csv",
        [
            "TARIFA 2026;;;",
            "Precios en EUR sin IVA;;;",
            "Referencia;Descripción;Familia;PVP",
            "A-100;Lámpara colgante Nube;Interior;245,00",
            "A-101;Aplique Luna 2L;Interior;129,50",
            "B-200;Foco LED exterior 30W;Exterior;89,90",
        ],
    )
    label(
        "spanish_title_rows.csv",
        2,
        0,
        1,
        3,
        "EUR",
        "Two title rows, one of them stating the currency; Spanish headers.",
    )


def price_before_name_ua() -> None:
    write_csv(
        "price_before_name_ua.csv",
        [
            "Ціна, грн;Код виробу;Найменування;Наявність",
            "1250;UA-77;Змішувач для кухні хром;є",
            "890;UA-78;Змішувач для умивальника;є",
            "2100;UA-79;Душова система з тропічним душем;немає",
        ],
    )
    label(
        "price_before_name_ua.csv",
        0,
        1,
        2,
        0,
        "UAH",
        "Ukrainian headers, price in the first column.",
    )


def shop_exports() -> None:
    write_csv(
        "woocommerce_export.csv",
        [
            "ID,Type,SKU,Name,Published,Regular price,Sale price",
            "11,simple,WOO-1,Ceramic mug red 300 ml,1,12.00,10.00",
            "12,simple,WOO-2,Ceramic mug blue 300 ml,1,12.00,",
            "13,simple,WOO-3,Tea spoon steel,1,3.50,",
        ],
    )
    label(
        "woocommerce_export.csv",
        0,
        2,
        3,
        5,
        None,
        "WooCommerce export: `ID` is the shop's row id, `SKU` the code; the regular price is the "
        "price, the sale price a discount.",
    )
    write_csv(
        "shopify_export.csv",
        [
            "Handle,Title,Body (HTML),Vendor,Variant SKU,Variant Price,Variant Compare At Price",
            "mug-red,Ceramic mug red,<p>300 ml</p>,Acme,SH-1,10.00,12.00",
            "mug-blue,Ceramic mug blue,<p>300 ml</p>,Acme,SH-2,10.00,",
            "spoon,Tea spoon,<p>steel</p>,Acme,SH-3,3.50,",
        ],
    )
    label(
        "shopify_export.csv",
        0,
        4,
        1,
        5,
        None,
        "Shopify export: `Variant` qualifies the code and the price; `Handle` is a URL slug.",
    )
    write_csv(
        "invoice_like_ru.csv",
        [
            "Наименование;Ед.;Цена, руб;Кол-во;Сумма",
            "Болт М6х30;шт;10,00;100;1000,00",
            "Гайка М6;шт;5,00;50;250,00",
            "Шайба 6;шт;1,20;200;240,00",
        ],
    )
    label(
        "invoice_like_ru.csv",
        0,
        None,
        0,
        2,
        "RUB",
        "Invoice-shaped list: the unit price is the price, `Сумма` (quantity x price) is not.",
    )
    write_csv(
        "discount_before_price.csv",
        ["Артикул;Наименование;Цена со скидкой;Цена", "A-1;Болт М6;9;10", "A-2;Гайка М6;4;5"],
    )
    label(
        "discount_before_price.csv",
        0,
        0,
        1,
        3,
        None,
        "The discounted price stands first; the plain price is the main one.",
    )


CASES = [
    title_rows_merged_sections,
    two_row_header_below,
    two_row_header_above_csv,
    one_c_export_cp1251,
    leading_empty_column,
    headerless_with_quantity,
    english_item_is_the_name,
    german_with_typos,
    ean_only_headerless,
    no_sku_brand_variants,
    spanish_semicolon_title,
    price_before_name_ua,
    shop_exports,
]


def main() -> None:
    HERE.mkdir(exist_ok=True)
    LABELS.clear()
    for case in CASES:
        case()
    text = json.dumps(LABELS, indent=1, ensure_ascii=False) + "\n"
    (HERE / "labels.json").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
