"""Generate the synthetic demo price lists in this folder (run: `make samples`).

The real lists beside them are public supplier files (see tests/data/real/labels.json); these
add what real suppliers also send: an XLSX with title rows, section rows, prices written as text
in Russian style, two sheets and bad rows; a Windows-1251 CSV from a 1C export; a clean English
XLSX with typed numbers.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent


def stroymarket_xlsx() -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "Крепёж"
    ws.append(["ООО «СтройМаркет»: прайс-лист"])
    ws.append(["Дата: 01.11.2026", None, "тел. +7 (495) 000-00-00"])
    ws.append([])
    ws.append(["Арт.", "Наименование товара", "Ед. изм.", "Цена, руб.", "Вес, кг"])
    ws.append(["Саморезы"])  # section row
    ws.append(["000123", "Саморез по дереву 3,5х35", "уп", "1 234,56 руб.", "0,5"])
    ws.append(["000124", "Саморез по металлу 4,2х16", "уп", "987,00", 0.4])
    ws.append(["8085807E40", "Саморез кровельный 4,8х29", "уп", 2150.5, 1.2])
    ws.append(["Дюбели"])  # section row
    ws.append(["DB-6x40", "Дюбель нейлоновый 6х40", "уп", "по запросу", 0.2])
    ws.append(["DB-8x50", None, "уп", "450", 0.3])  # no name
    ws.append(["DB-10x60", "Дюбель нейлоновый 10х60", "уп", "-15", 0.4])
    ws.append(["DB-12x70", "Дюбель нейлоновый 12х70", "уп", "#ЗНАЧЕН!", 0.5])
    ws.append(["000123", "Саморез по дереву 3,5х35 (дубль)", "уп", "1 200,00", 0.5])
    ws.append([])
    ws.append(["DB-14x80", "Дюбель нейлоновый 14х80", "уп", "1\u00a0165,00р.", 0.6])

    tools = wb.create_sheet("Инструмент")
    tools.append(["Код товара", "Номенклатура", "Цена опт", "Цена розн", "Гарантия, мес"])
    tools.append(["T-100", "Дрель ударная 650 Вт", 3490, 4290, 12])
    tools.append(["T-101", "Шуруповёрт аккумуляторный 18 В", 5990, 6990, 24])
    tools.append(["T-102", "Лобзик электрический 500 Вт", "2 990", "3 590", 12])
    wb.save(HERE / "stroymarket_messy_ru.xlsx")


def gadgets_xlsx() -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "Price list"
    ws.append(["Item No", "Description", "Brand", "Unit Price (USD)", "Stock"])
    ws.append(["GX-001", "USB-C charger 65W", "Anker", 39.9, 120])
    ws.append(["GX-002", "Wireless mouse", "Logitech", 24.5, 300])
    ws.append(["GX-003", "Mechanical keyboard", "Keychron", 89, 45])
    ws.append(["GX-004", "27in monitor 4K", "Dell", 329.99, 12])
    wb.save(HERE / "gadgets_clean_en.xlsx")


def electro_cp1251_csv() -> None:
    lines = [
        "Артикул;Наименование;Цена;Остаток",
        "ЭЛ-001;Кабель ВВГнг 3х2,5;1 165,00р.;340",
        "ЭЛ-002;Автоматический выключатель 16А;245,50р.;120",
        "ЭЛ-003;Розетка двойная с заземлением;189,90р.;75",
        "ЭЛ-004;Удлинитель 5 м, 4 гнезда;799,00р.;18",
    ]
    (HERE / "electro_1c_export_cp1251.csv").write_bytes(
        ("\r\n".join(lines) + "\r\n").encode("cp1251")
    )


if __name__ == "__main__":
    stroymarket_xlsx()
    gadgets_xlsx()
    electro_cp1251_csv()
