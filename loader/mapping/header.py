"""Finding the header among the first rows of a sheet.

Rules:
- Every row among the first HEADER_SCAN_ROWS is scored by the distinct meanings its text cells
  match (name and price 3, supplier code 2, anything else 1). A header needs cells of at least
  two meanings, one of them a standard field, and few numbers. The best score wins; the topmost
  on a tie. Rows above it (company, date, contacts, blank rows) are title rows, not data.
- A row with one meaning also counts when its shape says header: two or more text cells and
  numbers below them in the rows that follow.
- A row holding at least half the texts of a header the supplier used before (supplier memory),
  or of the headers named in overrides, is the header, whatever its words.
- No such row: the list has no header, and every row is data.
- Two-row headers (`Цена` over `опт | розн`): the row above or below the header is part of it when
  it holds only text, fewer cells than the header, and a group: a cell over (or under) several
  columns, spanning a merge or the blank cells to its right, whose sub-cells name kinds of price,
  quantity bands, currencies or units. The texts are joined, top first (`Цена опт`).
"""

from __future__ import annotations

from dataclasses import dataclass

from loader import defaults
from loader.mapping.matching import FIELDS, best_match, header_meaning
from loader.mapping.synonyms import CURRENCY_WORDS, PRICE_KIND_WORDS, UNIT_WORDS
from loader.mapping.text import as_number, cell_text, normalise_header
from loader.sources.base import CellValue, is_blank

WEIGHTS = {"name": 3, "price": 3, "supplier_sku": 2}
Merge = tuple[int, int, int, int]  # first row, first column, last row, last column (0-based)


@dataclass(frozen=True)
class Header:
    row: int | None  # 0-based index of the (top) header row; None: no header
    rows: tuple[int, ...]  # every row the header spans
    texts: tuple[str | None, ...]  # per column, the header text
    data_start: int  # 0-based index of the first data row


def _text_cells(row: list[CellValue]) -> list[tuple[int, str]]:
    return [(i, cell_text(v)) for i, v in enumerate(row) if v is not None and cell_text(v)]


def _is_textual(value: CellValue) -> bool:
    return value is not None and as_number(value) is None


def row_score(row: list[CellValue]) -> tuple[int, set[str]]:
    meanings: set[str] = set()
    for _, text in _text_cells(row):
        match = best_match(text)
        if match is not None:
            meanings.add(match.meaning)
    return sum(WEIGHTS.get(m, 1) for m in meanings), meanings


def _looks_like_header(row: list[CellValue], below: list[list[CellValue]]) -> bool:
    filled = [v for v in row if v is not None]
    if not filled or sum(1 for v in filled if not _is_textual(v)) > len(filled) / 4:
        return False
    score, meanings = row_score(row)
    if len(meanings) >= 2 and meanings & set(FIELDS):
        return True
    # One meaning: the shape must say header (text over numbers).
    if len(meanings) != 1 or len(filled) < 2:
        return False
    data = [r for r in below if not is_blank(r)][:5]
    numeric_below = {
        i for r in data for i, v in enumerate(r) if v is not None and as_number(v) is not None
    }
    text_columns = {i for i, v in enumerate(row) if _is_textual(v)}
    return len(data) >= 3 and bool(numeric_below & text_columns)


def detect_header(
    rows: list[list[CellValue]],
    merges: list[Merge] | None = None,
    remembered: list[list[str | None]] | None = None,
) -> Header:
    """`remembered`: headers this supplier used before, or named by overrides; a row holding at
    least half of the texts of one of them is the header, whatever its words."""
    width = max((len(r) for r in rows), default=0)
    scan = rows[: defaults.HEADER_SCAN_ROWS]
    best, best_idx = 0.0, None
    for idx, row in enumerate(scan):
        known = max((_shared(row, h) for h in remembered or []), default=0.0)
        if known >= 0.5 and len(_text_cells(row)) >= 2:
            score = 100 + known
        elif _looks_like_header(row, rows[idx + 1 : idx + 8]):
            score = row_score(row)[0]
        else:
            continue
        if score > best:
            best, best_idx = score, idx
    if best_idx is None:
        return Header(row=None, rows=(), texts=(None,) * width, data_start=0)

    row = rows[best_idx]
    texts = _padded(row, width)
    above, below = best_idx - 1, best_idx + 1
    if above >= 0 and (joined := _join_group(rows[above], row, above, merges or [], width)):
        return Header(row=above, rows=(above, best_idx), texts=joined, data_start=best_idx + 1)
    if below < len(rows) and (
        joined := _join_group(row, rows[below], best_idx, merges or [], width)
    ):
        return Header(row=best_idx, rows=(best_idx, below), texts=joined, data_start=below + 1)
    return Header(row=best_idx, rows=(best_idx,), texts=texts, data_start=best_idx + 1)


def _shared(row: list[CellValue], header: list[str | None]) -> float:
    mine = {" ".join(normalise_header(t)) for _, t in _text_cells(row)}
    theirs = {" ".join(normalise_header(t)) for t in header if t}
    return len(mine & theirs) / len(theirs) if mine and theirs else 0.0


def _padded(row: list[CellValue], width: int) -> tuple[str | None, ...]:
    return tuple((cell_text(row[i]) or None) if i < len(row) else None for i in range(width))


def _filled_merges(row: list[CellValue], index: int, merges: list[Merge]) -> list[CellValue]:
    """A merged header cell covers every column of its merge."""
    out = list(row)
    for top, left, bottom, right in merges:
        if top <= index <= bottom and left < len(out) and out[left] is not None:
            out.extend([None] * (right + 1 - len(out)))
            for col in range(left + 1, right + 1):
                out[col] = out[col] if out[col] is not None else out[left]
    return out


def _is_sub_header(text: str) -> bool:
    """Words that qualify a group cell: `опт`, `розн`, `USD`, `от 10 шт`, `кг`."""
    words = normalise_header(text)[0].split()
    if not words:
        return False
    known = {**PRICE_KIND_WORDS, **CURRENCY_WORDS, **UNIT_WORDS}
    meaning = header_meaning(text)
    return all(w in known or w.isdigit() or w in ("от", "до", "from", "to") for w in words) or (
        meaning.min_quantity is not None
    )


def _join_group(
    upper_row: list[CellValue],
    lower_row: list[CellValue],
    upper_index: int,
    merges: list[Merge],
    width: int,
) -> tuple[str | None, ...] | None:
    """Join a two-row header, or None when the rows are not one."""
    upper = _filled_merges(upper_row, upper_index, merges)
    lower = list(lower_row)
    up_cells, low_cells = _text_cells(upper), _text_cells(lower)
    if not up_cells or not low_cells:
        return None
    if any(not _is_textual(lower[i]) for i, _ in low_cells) or any(
        not _is_textual(upper[i]) for i, _ in up_cells
    ):
        return None
    up_texts = list(_padded(upper, width))
    low_texts = list(_padded(lower, width))
    # Carry a group cell right over blank cells that have a sub-cell below them.
    grouped = False
    carry: str | None = None
    for i in range(width):
        if up_texts[i] is not None:
            carry = up_texts[i] if low_texts[i] is not None else None
        elif low_texts[i] is not None and carry is not None:
            up_texts[i] = carry
            grouped = True
        else:
            carry = None
    merged_group = any(
        up_texts[i] is not None
        and low_texts[i] is not None
        and i > 0
        and up_texts[i] == up_texts[i - 1]
        for i in range(width)
    )
    subs = [t for i, t in enumerate(low_texts) if t is not None and up_texts[i] is not None]
    if not (grouped or merged_group) or not subs or not all(_is_sub_header(t) for t in subs):
        return None
    return tuple(
        " ".join(t for t in (up_texts[i], low_texts[i]) if t) or None for i in range(width)
    )
