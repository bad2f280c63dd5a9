"""The stand-in itself: its responses have the shape of recorded real ones, and it behaves as
the reference describes (A1 ranges, rendering, ragged rows, errors, quota)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import SERVICE_ACCOUNT_EMAIL
from tests.fakegoogle import Cell, FakeGoogle, Grid, Spreadsheet, a1

RECORDED = json.loads(
    (Path(__file__).parent.parent / "fakegoogle" / "recorded_shapes.json").read_text()
)
KEY = "1ContractTestKey0123456789abcdefghij"


def shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return {bool: "boolean", int: "number", float: "number", str: "string"}.get(type(value), "null")


def drop(tree: dict[str, Any], dotted: list[str]) -> dict[str, Any]:
    tree = json.loads(json.dumps(tree))
    for path in dotted:
        *parents, leaf = path.split(".")[1:]
        node = tree
        for p in parents:
            node = node[p]
        node.pop(leaf, None)
    return tree


@pytest.fixture
def api(fake_google: FakeGoogle) -> requests.Session:
    fake_google.add(
        Spreadsheet(
            KEY,
            "Contract",
            [
                Grid("Sheet1", [["a", 1], [], ["", "x"]], row_count=10, column_count=4),
                Grid("🌵 test_values_batch_get 1", [["🍇"], ["🍐"]], row_count=10, column_count=10),
            ],
            shared_with={SERVICE_ACCOUNT_EMAIL},
        )
    )
    token = "ya29.contract"
    fake_google.tokens[token] = SERVICE_ACCOUNT_EMAIL
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    session.base = fake_google.base_url  # type: ignore[attr-defined]
    return session


def get(api: requests.Session, path: str, **params: Any) -> requests.Response:
    return api.get(api.base + path, params=params)  # type: ignore[attr-defined]


def test_metadata_has_the_recorded_shape(api: requests.Session) -> None:
    response = get(api, f"/v4/spreadsheets/{KEY}", includeGridData="false")
    recorded = drop(RECORDED["metadata"], RECORDED["_stand_in_omits"])
    assert shape(response.json())["sheets"][0] == recorded["sheets"][0]
    assert shape(response.json()) == {**recorded, "sheets": shape(response.json())["sheets"]}
    for header, value in RECORDED["headers"].items():
        assert response.headers[header] == value


def test_batch_get_has_the_recorded_shape_and_echo(api: requests.Session) -> None:
    response = get(
        api,
        f"/v4/spreadsheets/{KEY}/values:batchGet",
        ranges=[RECORDED["batchGet_echo"]["requested"]],
    )
    assert shape(response.json()) == RECORDED["batchGet"]
    assert response.json()["valueRanges"][0]["range"] == RECORDED["batchGet_echo"]["echoed"]


def test_ragged_rows_interior_blanks_and_no_values_key_when_empty(api: requests.Session) -> None:
    body = get(api, f"/v4/spreadsheets/{KEY}/values/Sheet1").json()
    assert body == {
        "range": "Sheet1!A1:D10",
        "majorDimension": "ROWS",
        "values": [["a", "1"], [], ["", "x"]],
    }
    empty = get(api, f"/v4/spreadsheets/{KEY}/values/Sheet1!C5:D6").json()
    assert empty == {"range": "Sheet1!C5:D6", "majorDimension": "ROWS"}


def test_render_options(fake_google: FakeGoogle, api: requests.Session) -> None:
    fake_google.spreadsheets[KEY].grids[0].rows = [
        [Cell(12.5, "$12.50"), Cell(3, formula="=1+2"), Cell(True)]
    ]
    path = f"/v4/spreadsheets/{KEY}/values/Sheet1!A1:C1"
    assert get(api, path).json()["values"] == [["$12.50", "3", "TRUE"]]
    assert get(api, path, valueRenderOption="UNFORMATTED_VALUE").json()["values"] == [
        [12.5, 3, True]
    ]
    assert get(api, path, valueRenderOption="FORMULA").json()["values"] == [[12.5, "=1+2", True]]
    columns = get(api, path, valueRenderOption="UNFORMATTED_VALUE", majorDimension="COLUMNS").json()
    assert columns["values"] == [[12.5], [3], [True]]


def test_errors_are_googles(fake_google: FakeGoogle, api: requests.Session) -> None:
    bad = get(api, f"/v4/spreadsheets/{KEY}/values/Nope!A1")
    assert bad.status_code == 400
    assert bad.json() == {
        "error": {
            "code": 400,
            "message": "Unable to parse range: Nope!A1",
            "status": "INVALID_ARGUMENT",
        }
    }
    beyond = get(api, f"/v4/spreadsheets/{KEY}/values/Sheet1!A20:B30")
    assert (
        beyond.status_code == 400
        and "exceeds grid limits. Max rows: 10" in beyond.json()["error"]["message"]
    )
    missing = get(api, "/v4/spreadsheets/unknown-key-000000000000")
    assert missing.json() == {
        "error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND"}
    }
    api.headers["Authorization"] = "Bearer nope"
    assert get(api, f"/v4/spreadsheets/{KEY}").json()["error"]["status"] == "UNAUTHENTICATED"


def test_quota_per_minute(fake_google: FakeGoogle, api: requests.Session) -> None:
    fake_google.reads_per_minute = 3
    codes = [get(api, f"/v4/spreadsheets/{KEY}").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    body = get(api, f"/v4/spreadsheets/{KEY}").json()["error"]
    assert body["status"] == "RESOURCE_EXHAUSTED"
    assert body["details"][0]["reason"] == "RATE_LIMIT_EXCEEDED"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("'My ''sheet'''!A1:B2", a1.A1Range("My 'sheet'", 1, 1, 2, 2)),
        ("Sheet1!A:B", a1.A1Range("Sheet1", None, 1, None, 2)),
        ("Sheet1!1:1", a1.A1Range("Sheet1", 1, None, 1, None)),
        ("A2:C", a1.A1Range(None, 2, 1, None, 3)),
        ("Sheet1", a1.A1Range("Sheet1", None, None, None, None)),
    ],
)
def test_a1_grammar(text: str, expected: a1.A1Range) -> None:
    assert a1.parse(text) == expected


def test_titles_are_quoted_like_google_echoes_them() -> None:
    assert a1.quote_title("Sheet1") == "Sheet1"
    assert a1.quote_title("My sheet") == "'My sheet'"
    assert a1.quote_title("Прайс") == "'Прайс'"
    assert a1.quote_title("AB12") == "'AB12'"  # looks like a cell
    assert a1.quote_title("it's") == "'it''s'"
