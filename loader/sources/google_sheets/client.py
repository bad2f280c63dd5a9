"""gspread with a service account, our bounded retries, and Google's errors in our terms.

Data rules:
- The service-account file is read here and nowhere else; its content is never logged, stored
  or put in a task message. Errors name the file's path and the account's email only.
- Read-only scopes.
- 429, 408 and 5xx are retried at most `google_max_attempts` times with waits of
  base, 2*base, 4*base ... (gspread 6.2's own BackOffHTTPClient never stops); after that the
  error is retriable for the queue, which retries the task and finally dead-letters it.
- 403: the sheet is not shared with the service account (permanent; says which email).
  404: not found (permanent). 401 or a refused token: permanent.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import google.auth.exceptions
import gspread
import requests
from gspread.exceptions import APIError
from gspread.http_client import HTTPClient
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from loader.config import Settings
from loader.exceptions import (
    CredentialsError,
    LoaderError,
    SheetNotSharedError,
    SourceNotFoundError,
    SourceTemporarilyUnavailableError,
    UnreadableSourceError,
)

GOOGLE_API_PREFIX = "https://sheets.googleapis.com/"
RETRIED_STATUSES = {408, 429, 500, 502, 503, 504}
T = TypeVar("T")

# Indirection so tests can observe the backoff without sleeping.
sleep: Callable[[float], None] = time.sleep


class _RewriteToEndpoint(requests.adapters.HTTPAdapter):
    """Sends Sheets API requests to another base URL, keeping path and query byte for byte."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        parts = urllib.parse.urlsplit(request.url or "")
        request.url = self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")
        kwargs["proxies"] = {}  # environment proxies were resolved for Google's host, not ours
        return super().send(request, **kwargs)


def _http_client_class(api_url: str | None) -> type[HTTPClient]:
    if not api_url:
        return HTTPClient
    base_url: str = api_url

    class RoutedHTTPClient(HTTPClient):
        def __init__(self, auth: Any, session: requests.Session | None = None) -> None:
            super().__init__(auth, session)
            self.session.mount(GOOGLE_API_PREFIX, _RewriteToEndpoint(base_url))

    return RoutedHTTPClient


class SheetsClient:
    """The few Sheets API calls the source needs, with retries and error translation."""

    def __init__(self, credentials_file: Path, settings: Settings) -> None:
        info = _read_service_account(credentials_file)
        self.email: str = info["client_email"]
        self.settings = settings
        client = gspread.service_account_from_dict(
            info,
            scopes=gspread.auth.READONLY_SCOPES,
            http_client=_http_client_class(settings.google_sheets_api_url),
        )
        self.http: HTTPClient = client.http_client
        self.http.set_timeout((10, 120))

    def metadata(self, key: str) -> dict[str, Any]:
        return self._call(f"spreadsheet {key}", lambda: dict(self.http.fetch_sheet_metadata(key)))

    def batch_get(self, key: str, ranges: list[str], render: str) -> dict[str, Any]:
        params: dict[str, Any] = {"majorDimension": "ROWS", "valueRenderOption": render}
        if render == "UNFORMATTED_VALUE":
            params["dateTimeRenderOption"] = "SERIAL_NUMBER"
        return self._call(
            f"spreadsheet {key}", lambda: dict(self.http.values_batch_get(key, ranges, params))
        )

    def _call(self, where: str, fn: Callable[[], T]) -> T:
        retrying = Retrying(
            stop=stop_after_attempt(self.settings.google_max_attempts),
            wait=wait_exponential(multiplier=self.settings.google_backoff_base_s, max=60),
            retry=retry_if_exception(_is_transient),
            sleep=lambda seconds: sleep(seconds),
            reraise=True,
        )
        try:
            return retrying(fn)
        except APIError as err:
            raise self._translate(err, where) from err
        except google.auth.exceptions.RefreshError as err:
            if getattr(err, "retryable", False):
                raise SourceTemporarilyUnavailableError(
                    f"{where}: Google's token endpoint failed, will retry: {err}"
                ) from err
            raise CredentialsError(
                f"{where}: Google refused the token of service account {self.email}: {err}"
            ) from err
        except (
            requests.ConnectionError,
            requests.Timeout,
            google.auth.exceptions.TransportError,
        ) as err:
            raise SourceTemporarilyUnavailableError(f"{where}: cannot reach Google: {err}") from err

    def _translate(self, err: APIError, where: str) -> LoaderError:
        message = str(err.error.get("message", "")) if isinstance(err.error, dict) else str(err)
        code = err.code
        if code == 403:
            return SheetNotSharedError(
                f"{where}: no access for service account {self.email}. Share the spreadsheet "
                f"with {self.email} (Viewer is enough) and enqueue again. Google said: {message}"
            )
        if code == 404:
            return SourceNotFoundError(f"{where}: not found. Google said: {message}")
        if code == 401:
            return CredentialsError(
                f"{where}: Google refused the credentials of {self.email}: {message}"
            )
        if code in RETRIED_STATUSES:
            return SourceTemporarilyUnavailableError(
                f"{where}: Google answered {code} after {self.settings.google_max_attempts} "
                f"attempts: {message}"
            )
        return UnreadableSourceError(f"{where}: Google answered {code}: {message}")


def _is_transient(err: BaseException) -> bool:
    if isinstance(err, APIError):
        return err.code in RETRIED_STATUSES
    return isinstance(err, requests.ConnectionError | requests.Timeout)


def _read_service_account(path: Path) -> dict[str, Any]:
    """Read the key file; say what is wrong with it without ever showing its content."""
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise CredentialsError(f"service-account file {path} not found") from err
    except (OSError, UnicodeDecodeError) as err:
        raise CredentialsError(
            f"service-account file {path} cannot be read: {err.__class__.__name__}"
        ) from err
    except json.JSONDecodeError as err:
        raise CredentialsError(
            f"service-account file {path} is not valid JSON (line {err.lineno})"
        ) from None
    missing = [
        k
        for k in ("client_email", "private_key", "token_uri")
        if not isinstance(info, dict) or k not in info
    ]
    if missing:
        raise CredentialsError(f"service-account file {path} lacks {', '.join(missing)}")
    if info.get("type", "service_account") != "service_account":
        raise CredentialsError(f"{path} is not a service-account key (type {info.get('type')!r})")
    return info
