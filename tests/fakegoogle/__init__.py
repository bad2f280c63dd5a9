"""A local stand-in for the Google Sheets v4 API and Google's OAuth token endpoint.

Faithful to the behaviour described in shared/reference/google-sheets-api.md: the same paths
and parameters, ragged rows, FORMATTED/UNFORMATTED/FORMULA rendering, A1 ranges with quoted
titles, Google's error bodies, a per-minute read quota and fault injection. gspread's HTTP code
and google-auth's token exchange run against it unchanged.
"""

from tests.fakegoogle.server import Cell, FakeGoogle, Grid, Spreadsheet, date_cell

__all__ = ["Cell", "FakeGoogle", "Grid", "Spreadsheet", "date_cell"]
