"""A1 notation as the Sheets API reads it."""

from __future__ import annotations

import re
from dataclasses import dataclass

_CELL = re.compile(r"^([A-Z]*)(\d*)$")


class RangeError(ValueError):
    pass


def col_to_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n


def index_to_col(n: int) -> str:
    out = ""
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def quote_title(title: str) -> str:
    """How Google echoes a title: bare when it is a plain word, quoted otherwise."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", title) and not re.fullmatch(
        r"[A-Za-z]{1,3}\d+", title
    ):
        return title
    return "'" + title.replace("'", "''") + "'"


@dataclass(frozen=True)
class A1Range:
    title: str | None  # None: the first sheet
    first_row: int | None
    first_col: int | None
    last_row: int | None
    last_col: int | None


def parse(text: str) -> A1Range:
    """`'My ''sheet'''!A1:B2`, `Sheet1!A:B`, `Sheet1!1:1`, `A2:C`, `Sheet1` (whole sheet)."""
    title: str | None
    rest: str | None
    if text.startswith("'"):
        end, i = None, 1
        while i < len(text):
            if text[i] == "'":
                if i + 1 < len(text) and text[i + 1] == "'":
                    i += 2
                    continue
                end = i
                break
            i += 1
        if end is None:
            raise RangeError(text)
        title = text[1:end].replace("''", "'")
        after = text[end + 1 :]
        if after and not after.startswith("!"):
            raise RangeError(text)
        rest = after[1:] if after else None
    elif "!" in text:
        title, rest = text.rsplit("!", 1)
    else:
        # A bare word is a sheet title unless it reads as cells (A1:B2, A:B, 1:1, A1).
        if re.fullmatch(r"[A-Z]*\d*(:[A-Z]*\d*)?", text) and text:
            title, rest = None, text
        else:
            title, rest = text, None
    if rest is None or rest == "":
        return A1Range(title, None, None, None, None)
    start, _, end = rest.partition(":")
    m1, m2 = _CELL.match(start), _CELL.match(end or start)
    if not m1 or not m2 or not (start and (end or not _)):
        raise RangeError(text)
    c1, r1 = m1.groups()
    c2, r2 = m2.groups()
    return A1Range(
        title,
        int(r1) if r1 else None,
        col_to_index(c1) if c1 else None,
        int(r2) if r2 else None,
        col_to_index(c2) if c2 else None,
    )
