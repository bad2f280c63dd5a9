"""The ODS source (the worked example of docs/new-source.md): read, then end to end."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from loader import migrate
from loader.config import Settings
from loader.db import DbParams
from loader.exceptions import SourceNotFoundError, UnreadableSourceError
from loader.jobs import run_task
from loader.sources import file_source_type, get_source
from loader.task import ParseTask
from tests.helpers import write_ods

PRICE_LIST = {
    "Прайс": [
        ["Прайс-лист ООО «Ромашка» на 01.03.2026"],
        [],
        ["Артикул", "Наименование", "Цена, руб.", "Цвет"],
        ["Крепёж"],
        ["000123", "Болт М8", "1 234,50", "красный"],
        ["A-2", "Гайка М8", 3, None],
    ],
    "Архив": [["old"]],
}


def _task(path: Path, sheet: str | int | None = "Прайс") -> ParseTask:
    source: dict[str, object] = {"type": file_source_type(path.name), "path": str(path)}
    if sheet is not None:
        source["sheet"] = sheet
    return ParseTask.parse({"task_id": "ods-1", "supplier": {"code": "romashka"}, "source": source})


def test_an_ods_file_reads_like_a_workbook(tmp_path: Path) -> None:
    path = write_ods(tmp_path / "romashka.ods", PRICE_LIST)
    [sheet] = get_source("ods").read(_task(path).source)
    assert sheet.name == "Прайс"
    assert sheet.rows[4] == ["000123", "Болт М8", "1 234,50", "красный"]  # codes stay text
    assert sheet.rows[5] == ["A-2", "Гайка М8", 3, None]  # typed numbers stay numbers
    assert [s.name for s in get_source("ods").read(_task(path, None).source)] == ["Прайс", "Архив"]

    with pytest.raises(
        SourceNotFoundError, match=r"no sheet 'Цены'; the workbook has \['Прайс', 'Архив'\]"
    ):
        list(get_source("ods").read(_task(path, "Цены").source))
    fake = tmp_path / "fake.ods"
    fake.write_text("Артикул;Цена\n")
    with pytest.raises(UnreadableSourceError, match="fake.ods: not an ODS workbook"):
        list(get_source("ods").read(_task(fake).source))


def test_an_ods_price_list_reaches_the_catalogue(fresh_database: str, tmp_path: Path) -> None:
    migrate.upgrade(fresh_database)
    path = write_ods(tmp_path / "romashka.ods", PRICE_LIST)
    settings = Settings(database_url=fresh_database, local_state_dir=tmp_path / "st")
    result = run_task(_task(path), fresh_database, settings)
    # The title rows are above the header; the section row is skipped and names the category.
    assert (result.status, result.items_accepted, result.rows_skipped) == ("success", 2, 1)
    with psycopg.connect(DbParams.from_url(fresh_database).conninfo()) as conn:
        items = conn.execute(
            "select supplier_sku, price, currency, characteristics from marts.supplier_items"
            " order by supplier_sku"
        ).fetchall()
    assert items == [
        ("000123", Decimal("1234.50"), "RUB", {"category": "Крепёж", "цвет": "красный"}),
        ("A-2", Decimal("3"), "RUB", {"category": "Крепёж"}),
    ]
