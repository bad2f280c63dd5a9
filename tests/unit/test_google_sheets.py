"""The Google Sheets source against the local stand-in: gspread and google-auth run for real."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

from loader.exceptions import (
    CredentialsError,
    SheetNotSharedError,
    ShortReadError,
    SourceNotFoundError,
    SourceTemporarilyUnavailableError,
)
from loader.mapping import map_sheet
from loader.sources import get_source
from loader.sources.base import Sheet
from loader.sources.google_sheets import GoogleSheetsConfig, client
from loader.sources.google_sheets.grid import spreadsheet_key
from tests.conftest import SERVICE_ACCOUNT_EMAIL, write_service_account
from tests.fakegoogle import Cell, FakeGoogle, Grid, Spreadsheet, date_cell
from tests.fakegoogle.server import BACKEND_ERROR, UNAUTHENTICATED, quota_error

KEY = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-x"
PRICES = [
    ["ООО «СтройМаркет»"],
    ["Прайс-лист на 01.11.2026", None, "тел. +7 495 000-00-00"],
    [],
    ["Артикул", "Наименование", "Цена, руб.", "Вес, кг"],
    ["000123", "Саморез по дереву 3,5х35", Cell(1234.56, "1 234,56 ₽"), Cell(0.5, "0,5")],
    ["8085807E40", "Саморез кровельный", Cell(2150, "2 150,00 ₽"), 1.2],
    [Cell(124, "000124"), "Дюбель 6х40", Cell(12.5, "12,50 ₽"), None],
]


def share(fake: FakeGoogle, *grids: Grid, key: str = KEY) -> None:
    fake.add(
        Spreadsheet(key, "Прайс СтройМаркет", list(grids), shared_with={SERVICE_ACCOUNT_EMAIL})
    )


def read(sa: Path, **config: Any) -> list[Sheet]:
    cfg = GoogleSheetsConfig(
        spreadsheet=config.pop("spreadsheet", KEY), credentials_file=sa, **config
    )
    return list(get_source("google_sheets").read(cfg))


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waited: list[float] = []
    monkeypatch.setattr(client, "sleep", waited.append)
    return waited


def test_title_rows_and_a_russian_header(fake_google: FakeGoogle, service_account: Path) -> None:
    share(fake_google, Grid("Прайс", PRICES))
    [sheet] = read(service_account)
    mapped = map_sheet(sheet)

    assert mapped.mapping.header_row == 4
    assert {c.field: c.header for c in mapped.mapping.columns if c.field} == {
        "supplier_sku": "Артикул",
        "name": "Наименование",
        "price": "Цена, руб.",
    }
    assert [cells for _, cells in mapped.rows] == [
        {
            "Артикул": "000123",
            "Наименование": "Саморез по дереву 3,5х35",
            "Цена, руб.": 1234.56,
            "Вес, кг": 0.5,
        },
        {
            "Артикул": "8085807E40",
            "Наименование": "Саморез кровельный",
            "Цена, руб.": 2150,
            "Вес, кг": 1.2,
        },
        {"Артикул": "000124", "Наименование": "Дюбель 6х40", "Цена, руб.": 12.5},
    ]
    # One token exchange, one metadata read, one batch read per rendering: nothing more.
    assert [(m, p.split("?")[0].rsplit("/", 1)[-1]) for m, p in fake_google.log] == [
        ("POST", "token"),
        ("GET", KEY),
        ("GET", "values:batchGet"),
        ("GET", "values:batchGet"),
    ]


def test_codes_stay_text_numbers_stay_numbers_dates_become_iso(
    fake_google: FakeGoogle, service_account: Path
) -> None:
    share(
        fake_google,
        Grid(
            "S",
            [
                ["Код", "Товар", "Цена", "Дата"],
                ["000123", "A", 10, date_cell(dt.date(2026, 11, 1), "01.11.2026")],
                ["8085807E40", "B", Cell(12.5, "$12.50"), None],
                [Cell(7, "0007"), "C", Cell(True), Cell(3, formula="=1+2")],
            ],
        ),
    )
    [sheet] = read(service_account)
    assert sheet.rows[1:] == [
        ["000123", "A", 10, "2026-11-01"],
        ["8085807E40", "B", 12.5],
        ["0007", "C", True, 3],
    ]


def test_two_worksheets_by_title_index_or_all(
    fake_google: FakeGoogle, service_account: Path
) -> None:
    share(
        fake_google,
        Grid("Крепёж", [["Код", "Товар", "Цена"], ["A", "Болт", 1]]),
        Grid("Инструмент", [["Код", "Товар", "Цена"], ["T", "Дрель", 3490]]),
        Grid("Служебный", [["x"]], hidden=True),
    )
    assert [s.name for s in read(service_account)] == ["Крепёж", "Инструмент"]  # hidden skipped
    assert read(service_account, worksheet="Инструмент")[0].rows[1] == ["T", "Дрель", 3490]
    assert [s.name for s in read(service_account, worksheet=0)] == ["Крепёж"]
    with pytest.raises(
        SourceNotFoundError, match=r"no worksheet 'Склад'; the spreadsheet has \['Крепёж'"
    ):
        read(service_account, worksheet="Склад")
    # Both worksheets were small enough to share each batch request.
    assert len(fake_google.requests("values:batchGet")) == 2 * 3


def test_merges_section_rows_stay_single_and_vertical_merges_fill_down(
    fake_google: FakeGoogle, service_account: Path
) -> None:
    share(
        fake_google,
        Grid(
            "S",
            [
                ["Код", "Бренд", "Товар", "Цена"],
                ["Саморезы"],
                ["A1", "Bosch", "Саморез 1", 10],
                ["A2", None, "Саморез 2", 11],
            ],
            merges=[
                (1, 2, 0, 4),
                (2, 4, 1, 2),
            ],  # a section title across the row; a brand over two rows
        ),
    )
    [sheet] = read(service_account)
    assert sheet.rows[1] == ["Саморезы"]
    assert sheet.rows[3] == ["A2", "Bosch", "Саморез 2", 11]


def test_a_50000_row_sheet_is_read_in_batches(
    fake_google: FakeGoogle, service_account: Path
) -> None:
    rows = [["Артикул", "Наименование", "Цена", "Остаток"]]
    rows += [
        [f"{i:06d}", f"Товар {i}", Cell(i + 0.5, f"{i},50 ₽"), i % 7] for i in range(1, 50_001)
    ]
    share(fake_google, Grid("Big", rows, row_count=50_001, column_count=4))
    [sheet] = read(service_account)

    assert len(sheet.rows) == 50_001
    assert sheet.rows[50_000] == ["050000", "Товар 50000", 50000.5, 6]
    batches = fake_google.requests("values:batchGet")
    assert len(batches) == 2 * 11  # 5,000 rows a request: 11 requests, two renderings each
    assert "ranges=%27Big%27%21A45001%3AD50000" in batches[-4]
    assert "ranges=%27Big%27%21A50001%3AD50001" in batches[-2]


def test_not_shared_names_the_service_account(
    fake_google: FakeGoogle, service_account: Path
) -> None:
    fake_google.add(Spreadsheet(KEY, "Private", [Grid("S", [["x"]])], shared_with=set()))
    with pytest.raises(
        SheetNotSharedError, match=f"Share the spreadsheet with {SERVICE_ACCOUNT_EMAIL}"
    ) as err:
        read(service_account)
    assert not err.value.retriable


def test_unknown_spreadsheet_is_permanent(fake_google: FakeGoogle, service_account: Path) -> None:
    with pytest.raises(SourceNotFoundError, match="Requested entity was not found") as err:
        read(service_account)
    assert not err.value.retriable


def test_quota_twice_then_success_with_bounded_backoff(
    fake_google: FakeGoogle, service_account: Path, sleeps: list[float]
) -> None:
    share(fake_google, Grid("S", [["Код", "Товар", "Цена"], ["A", "Болт", 1]]))
    fake_google.inject(lambda m, p, q: "batchGet" in p, 429, quota_error(), times=2)
    [sheet] = read(service_account)
    assert sheet.rows[1] == ["A", "Болт", 1]
    assert sleeps == [2.0, 4.0]


def test_quota_forever_gives_up_after_bounded_retries(
    fake_google: FakeGoogle, service_account: Path, sleeps: list[float]
) -> None:
    share(fake_google, Grid("S", [["Код", "Товар", "Цена"], ["A", "Болт", 1]]))
    fake_google.inject(lambda m, p, q: "batchGet" in p, 429, quota_error(), times=1000)
    with pytest.raises(
        SourceTemporarilyUnavailableError, match="answered 429 after 4 attempts: Quota exceeded"
    ) as err:
        read(service_account)
    assert err.value.retriable
    assert sleeps == [2.0, 4.0, 8.0]
    assert len(fake_google.requests("batchGet")) == 4


def test_server_errors_are_retried(
    fake_google: FakeGoogle, service_account: Path, sleeps: list[float]
) -> None:
    share(fake_google, Grid("S", [["Код", "Товар", "Цена"], ["A", "Болт", 1]]))
    fake_google.inject(lambda m, p, q: p.endswith(KEY), 503, BACKEND_ERROR, times=1)
    assert read(service_account)[0].rows[1] == ["A", "Болт", 1]
    assert sleeps == [2.0]


def test_an_expired_token_is_refreshed(fake_google: FakeGoogle, service_account: Path) -> None:
    share(fake_google, Grid("S", [["Код", "Товар", "Цена"], ["A", "Болт", 1]]))
    fake_google.inject(lambda m, p, q: p.endswith(KEY), 401, UNAUTHENTICATED, times=1)
    assert read(service_account)[0].rows[1] == ["A", "Болт", 1]
    assert [m for m, _ in fake_google.log].count("POST") == 2  # google-auth fetched a new token


def test_short_read_fails_instead_of_landing_partial_data(
    fake_google: FakeGoogle, service_account: Path
) -> None:
    share(
        fake_google,
        Grid(
            "S",
            [["Код", "Товар", "Цена"]] + [[f"A{i}", "Болт", i] for i in range(30)],
            row_count=31,
        ),
    )
    fake_google.short_read_rows = 10
    expected = "asked for 'S'!A1:Z31, Google returned 'S!A1:Z10' with 10 rows"
    with pytest.raises(ShortReadError, match=re.escape(expected)):
        read(service_account)


def test_refused_token_is_permanent(tmp_path: Path, fake_google: FakeGoogle) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    share(fake_google, Grid("S", [["x"]]))
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sa = write_service_account(tmp_path / "old.json", stranger, f"{fake_google.base_url}/token")
    with pytest.raises(
        CredentialsError, match="refused the token of service account .*invalid_grant"
    ) as err:
        read(sa)
    assert not err.value.retriable


def test_bad_credentials_files_are_named_but_never_shown(
    tmp_path: Path, fake_google: FakeGoogle, service_account: Path
) -> None:
    with pytest.raises(CredentialsError, match="missing.json not found"):
        read(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text('{"private_key": "-----BEGIN PRIVATE KEY-----\\nSECRET')
    with pytest.raises(CredentialsError, match="bad.json is not valid JSON") as err:
        read(tmp_path / "bad.json")
    assert "SECRET" not in str(err.value)
    (tmp_path / "partial.json").write_text('{"private_key": "SECRET"}')
    with pytest.raises(CredentialsError, match="lacks client_email, token_uri") as err:
        read(tmp_path / "partial.json")
    assert "SECRET" not in str(err.value)


def test_no_credentials_configured(
    fake_google: FakeGoogle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    with pytest.raises(CredentialsError, match="set GOOGLE_APPLICATION_CREDENTIALS"):
        list(get_source("google_sheets").read(GoogleSheetsConfig(spreadsheet=KEY)))


@pytest.mark.parametrize(
    "ref",
    [
        KEY,
        f"https://docs.google.com/spreadsheets/d/{KEY}/edit#gid=0",
        f"https://docs.google.com/spreadsheets/d/{KEY}/edit?usp=sharing",
        f"https://docs.google.com/spreadsheets/u/1/d/{KEY}/htmlview",
        f"https://docs.google.com/spreadsheet/ccc?key={KEY}&usp=drive_web#gid=3",
    ],
)
def test_spreadsheet_by_key_or_any_url_form(ref: str) -> None:
    assert spreadsheet_key(ref) == KEY
    assert GoogleSheetsConfig(spreadsheet=ref).describe() == f"google sheet {KEY}"


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("https://docs.google.com/spreadsheets/d/e/2PACX-1vQ/pubhtml", "published to the web"),
        ("https://example.com/prices.xlsx", "neither a spreadsheet key nor a Google Sheets URL"),
    ],
)
def test_unusable_references_are_refused_on_validation(ref: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GoogleSheetsConfig(spreadsheet=ref)
