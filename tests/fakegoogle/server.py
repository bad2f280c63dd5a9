"""The stand-in server: a ThreadingHTTPServer on 127.0.0.1, one per test."""

from __future__ import annotations

import datetime as dt
import json
import re
import socket
import threading
import time
import urllib.parse
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from google.auth import jwt

from tests.fakegoogle import a1

TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
SHEETS_EPOCH = dt.date(1899, 12, 30)


@dataclass
class Cell:
    """A cell as Sheets stores it: a typed value, the text it shows, maybe a formula."""

    v: str | int | float | bool
    f: str | None = None  # formatted text; default: the plain rendering of v
    formula: str | None = None
    is_date: bool = False

    def render(self, option: str, date_option: str) -> Any:
        if option == "FORMULA" and self.formula:
            return self.formula
        if option == "FORMATTED_VALUE" or (self.is_date and date_option == "FORMATTED_STRING"):
            return self.shown()
        return self.v

    def shown(self) -> str:
        if self.f is not None:
            return self.f
        if isinstance(self.v, bool):
            return "TRUE" if self.v else "FALSE"
        if isinstance(self.v, float) and self.v.is_integer():
            return str(int(self.v))
        return str(self.v)


def date_cell(day: dt.date, shown: str) -> Cell:
    return Cell(v=(day - SHEETS_EPOCH).days, f=shown, is_date=True)


@dataclass
class Grid:
    """One worksheet: rows of plain values or Cells (None/"" = empty)."""

    title: str
    rows: list[list[Any]]
    sheet_id: int | None = None  # default: 0 for the first worksheet, 1000 * index after
    row_count: int | None = None  # grid size; default: the data plus some empty rows
    column_count: int | None = None
    merges: list[tuple[int, int, int, int]] = field(
        default_factory=list
    )  # r0, r1, c0, c1 (0-based, end-exclusive)
    hidden: bool = False

    def size(self) -> tuple[int, int]:
        rows = self.row_count or max(len(self.rows) + 20, 100)
        cols = self.column_count or max([len(r) for r in self.rows] + [26])
        return rows, cols

    def cell(self, r: int, c: int) -> Cell | None:
        if r >= len(self.rows) or c >= len(self.rows[r]):
            return None
        value = self.rows[r][c]
        if value is None or value == "":
            return None
        return value if isinstance(value, Cell) else Cell(v=value)


@dataclass
class Spreadsheet:
    key: str
    title: str
    grids: list[Grid]
    shared_with: set[str] = field(default_factory=set)
    locale: str = "ru_RU"
    time_zone: str = "Europe/Moscow"


@dataclass
class Fault:
    matches: Callable[[str, str, dict[str, list[str]]], bool]
    status: int
    body: dict[str, Any]
    times: int


def sheets_error(code: int, message: str, status: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status}}


def quota_error() -> dict[str, Any]:
    body = sheets_error(
        429,
        "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute per "
        "user' of service 'sheets.googleapis.com' for consumer 'project_number:123456789'.",
        "RESOURCE_EXHAUSTED",
    )
    body["error"]["details"] = [
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "RATE_LIMIT_EXCEEDED",
            "domain": "googleapis.com",
            "metadata": {
                "consumer": "projects/123456789",
                "quota_limit": "ReadRequestsPerMinutePerUser",
                "quota_metric": "sheets.googleapis.com/read_requests",
                "service": "sheets.googleapis.com",
            },
        }
    ]
    return body


NOT_FOUND = sheets_error(404, "Requested entity was not found.", "NOT_FOUND")
PERMISSION_DENIED = sheets_error(403, "The caller does not have permission", "PERMISSION_DENIED")
UNAUTHENTICATED = sheets_error(
    401,
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
    "or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project.",
    "UNAUTHENTICATED",
)
BACKEND_ERROR = sheets_error(503, "The service is currently unavailable.", "UNAVAILABLE")


class FakeGoogle:
    def __init__(self, reads_per_minute: int = 60) -> None:
        self.spreadsheets: dict[str, Spreadsheet] = {}
        self.public_keys: dict[str, str] = {}  # client_email -> PEM public key
        self.tokens: dict[str, str] = {}  # access token -> client_email
        self.log: list[tuple[str, str]] = []
        self.faults: list[Fault] = []
        self.reads_per_minute = reads_per_minute
        self._reads: dict[str, deque[float]] = defaultdict(deque)
        self.short_read_rows: int | None = None  # serve only this many rows of each batch range
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- setup ---------------------------------------------------------------------------------
    def add(self, spreadsheet: Spreadsheet) -> None:
        self.spreadsheets[spreadsheet.key] = spreadsheet

    def trust(self, client_email: str, public_key_pem: str) -> None:
        self.public_keys[client_email] = public_key_pem

    def inject(
        self,
        matches: Callable[[str, str, dict[str, list[str]]], bool],
        status: int,
        body: dict[str, Any],
        times: int = 1,
    ) -> None:
        """Answer the next `times` matching requests with this error (then behave normally)."""
        self.faults.append(Fault(matches, status, body, times))

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        fake = self

        class Handler(_Handler):
            google = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def requests(self, path_part: str) -> list[str]:
        return [p for _, p in self.log if path_part in p]

    # -- behaviour -----------------------------------------------------------------------------
    def take_fault(self, method: str, path: str, query: dict[str, list[str]]) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.times > 0 and fault.matches(method, path, query):
                    fault.times -= 1
                    return fault
        return None

    def charge_read(self, email: str) -> bool:
        """Sliding one-minute window per service account; False when over the quota."""
        now = time.monotonic()
        with self._lock:
            window = self._reads[email]
            while window and now - window[0] > 60:
                window.popleft()
            if len(window) >= self.reads_per_minute:
                return False
            window.append(now)
            return True

    def issue_token(self, form: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"]:
            return 400, {
                "error": "unsupported_grant_type",
                "error_description": "Invalid grant_type.",
            }
        assertion = (form.get("assertion") or [""])[0]
        try:
            claims = jwt.decode(assertion, verify=False)
            key = self.public_keys.get(str(claims.get("iss")))
            if key is None:
                return 400, {
                    "error": "invalid_grant",
                    "error_description": "Invalid grant: account not found",
                }
            jwt.decode(assertion, certs=key, audience=TOKEN_AUDIENCE)
        except ValueError:
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
        token = f"ya29.fake-{len(self.tokens) + 1}"
        self.tokens[token] = str(claims["iss"])
        return 200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}

    def metadata(self, ss: Spreadsheet) -> dict[str, Any]:
        sheets = []
        for index, grid in enumerate(ss.grids):
            rows, cols = grid.size()
            props: dict[str, Any] = {
                "sheetId": grid.sheet_id if grid.sheet_id is not None else index * 1000,
                "title": grid.title,
                "index": index,
                "sheetType": "GRID",
                "gridProperties": {"rowCount": rows, "columnCount": cols},
            }
            if grid.hidden:
                props["hidden"] = True
            sheet: dict[str, Any] = {"properties": props}
            if grid.merges:
                sheet["merges"] = [
                    {
                        "sheetId": props["sheetId"],
                        "startRowIndex": r0,
                        "endRowIndex": r1,
                        "startColumnIndex": c0,
                        "endColumnIndex": c1,
                    }
                    for r0, r1, c0, c1 in grid.merges
                ]
            sheets.append(sheet)
        return {
            "spreadsheetId": ss.key,
            "properties": {
                "title": ss.title,
                "locale": ss.locale,
                "autoRecalc": "ON_CHANGE",
                "timeZone": ss.time_zone,
            },
            "sheets": sheets,
            "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{ss.key}/edit",
        }

    def value_range(
        self, ss: Spreadsheet, text: str, query: dict[str, list[str]]
    ) -> dict[str, Any]:
        """One ValueRange, or raises a1.RangeError / _GridLimit."""
        rng = a1.parse(text)
        grid = (
            ss.grids[0]
            if rng.title is None
            else next((g for g in ss.grids if g.title == rng.title), None)
        )
        if grid is None:
            raise a1.RangeError(text)
        rows, cols = grid.size()
        r1, c1 = rng.first_row or 1, rng.first_col or 1
        r2 = min(rng.last_row or rows, rows)
        c2 = min(rng.last_col or cols, cols)
        if r1 > rows or c1 > cols:
            raise _GridLimit(
                f"Range ({a1.quote_title(grid.title)}!{text.rsplit('!', 1)[-1]}) "
                f"exceeds grid limits. Max rows: {rows}, max columns: {cols}"
            )
        if self.short_read_rows is not None:
            r2 = min(r2, r1 + self.short_read_rows - 1)
        option = (query.get("valueRenderOption") or ["FORMATTED_VALUE"])[0]
        date_option = (query.get("dateTimeRenderOption") or ["SERIAL_NUMBER"])[0]
        values: list[list[Any]] = []
        for r in range(r1 - 1, r2):
            row = []
            for c in range(c1 - 1, c2):
                cell = grid.cell(r, c)
                row.append("" if cell is None else cell.render(option, date_option))
            while row and row[-1] == "":
                row.pop()  # ragged rows: trailing empties are cut
            values.append(row)
        while values and not values[-1]:
            values.pop()  # and trailing empty rows
        if (query.get("majorDimension") or ["ROWS"])[0] == "COLUMNS":
            width = max((len(r) for r in values), default=0)
            values = [[r[c] if c < len(r) else "" for r in values] for c in range(width)]
        echo = f"{a1.quote_title(grid.title)}!{a1.index_to_col(c1)}{r1}:{a1.index_to_col(c2)}{r2}"
        out: dict[str, Any] = {
            "range": echo,
            "majorDimension": (query.get("majorDimension") or ["ROWS"])[0],
        }
        if values:
            out["values"] = values
        return out


class _GridLimit(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    google: FakeGoogle
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two sends; without this each request waits ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args: Any) -> None:
        pass

    def version_string(self) -> str:
        return "ESF"  # what Google's front end calls itself

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body, ensure_ascii=False, indent=2).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Cache-Control", "private")
        self.send_header("Vary", "Origin, X-Origin, Referer")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        self.google.log.append(("POST", self.path))
        path = urllib.parse.urlsplit(self.path).path
        if path != "/token":
            self._send(404, NOT_FOUND)
            return
        if fault := self.google.take_fault("POST", path, form):
            self._send(fault.status, fault.body)
            return
        self._send(*self.google.issue_token(form))

    def do_GET(self) -> None:  # noqa: N802
        self.google.log.append(("GET", self.path))
        parts = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
        match = re.fullmatch(
            r"/v4/spreadsheets/([^/:]+)(?:/values/([^/]+)|/values:batchGet|)", parts.path
        )
        if not match:
            self._send(404, NOT_FOUND)
            return
        if fault := self.google.take_fault("GET", parts.path, query):
            self._send(fault.status, fault.body)
            return
        auth = self.headers.get("Authorization", "")
        email = self.google.tokens.get(auth.removeprefix("Bearer ").strip())
        if email is None:
            self._send(401, UNAUTHENTICATED)
            return
        ss = self.google.spreadsheets.get(match.group(1))
        if ss is None:
            self._send(404, NOT_FOUND)
            return
        if email not in ss.shared_with:
            self._send(403, PERMISSION_DENIED)
            return
        if not self.google.charge_read(email):
            self._send(429, quota_error())
            return
        try:
            if parts.path.endswith("values:batchGet"):
                ranges = query.get("ranges", [])
                self._send(
                    200,
                    {
                        "spreadsheetId": ss.key,
                        "valueRanges": [self.google.value_range(ss, r, query) for r in ranges],
                    },
                )
            elif match.group(2) is not None:
                self._send(
                    200, self.google.value_range(ss, urllib.parse.unquote(match.group(2)), query)
                )
            else:
                self._send(200, self.google.metadata(ss))
        except a1.RangeError as err:
            self._send(400, sheets_error(400, f"Unable to parse range: {err}", "INVALID_ARGUMENT"))
        except _GridLimit as err:
            self._send(400, sheets_error(400, str(err), "INVALID_ARGUMENT"))
