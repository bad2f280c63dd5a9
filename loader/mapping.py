"""Header detection and column mapping.

Data rules:
- The header is the row, among the first HEADER_SCAN_ROWS, whose cells match the most distinct
  standard fields (at least two). Rows above it are title rows and are not landed.
- No such row: the list is headerless; columns get keys `col_a`, `col_b`, ... and roles are
  inferred from the values (price-like numbers, unique code-like tokens, long text).
- Matching is on normalised text (casefold, `ё`->`е`, punctuation cut, the qualifier after a comma
  or in parentheses set aside): an exact synonym scores 100, a synonym contained in the header 90,
  otherwise rapidfuzz's ratio (accepted from 85). Manual overrides win with 100.
- Each field goes to one column; the highest score wins, ties go to the leftmost column. So the
  main price is the best-matching price column, leftmost on a tie; other price columns stay
  characteristics under their own keys.
- Cell keys are the header text; blank headers become `col_<letter>`, duplicates
  `<header>__<letter>`, so no column is lost.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field
from statistics import median
from typing import Any

from rapidfuzz import fuzz

from loader import defaults
from loader.exceptions import MappingError, NoDataRowsError
from loader.sources.base import CellValue, Sheet
from loader.synonyms import CURRENCY_WORDS, FIELD_SYNONYMS, UNIT_WORDS, VAT_WORDS

MATCH_THRESHOLD = 85
REQUIRED_FIELDS = ("name", "price")
_QUALIFIER = re.compile(r"\(([^)]*)\)|,(.*)$")
_NON_WORD = re.compile(r"[^\w$€₽£¥₴₸৳]+", re.UNICODE)
# A money-like cell: optional currency prefix, digits with separators, optional non-Latin suffix
# (`руб.`, `р.`, `₽`); `68377850AA` is a code, not a number.
_NUMBER = re.compile(r"^[^\dA-Za-z-]{0,4}-?\d[\d\s\u00a0\u202f\u2009.,']*[^\dA-Za-z]{0,6}$")
_CODE = re.compile(r"^[\w./-]{2,40}$")


@dataclass
class ColumnMapping:
    index: int
    letter: str
    header: str | None
    key: str
    field: str | None = None
    characteristic_key: str | None = None
    score: float = 0.0
    reason: str = "unmapped"
    currency: str | None = None
    unit: str | None = None
    vat_included: bool | None = None


@dataclass
class SheetMapping:
    sheet: str
    header_row: int | None  # 1-based sheet row, None when the list has no header
    columns: list[ColumnMapping] = field(default_factory=list)

    def column_for(self, field_name: str) -> ColumnMapping | None:
        return next((c for c in self.columns if c.field == field_name), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sheet": self.sheet,
            "header_row": self.header_row,
            "columns": [asdict(c) for c in self.columns],
        }


@dataclass
class MappedSheet:
    mapping: SheetMapping
    rows: list[tuple[int, dict[str, CellValue]]]  # (1-based row number, cells by key)


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def normalise_header(text: str) -> tuple[str, str]:
    """Return (base, qualifier): `Цена, руб.` -> ("цена", "руб")."""
    s = unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")
    qualifiers = [q for m in _QUALIFIER.finditer(s) for q in m.groups() if q]
    base = _QUALIFIER.sub(" ", s)
    clean = lambda v: " ".join(_NON_WORD.sub(" ", v).replace("_", " ").split())  # noqa: E731
    return clean(base), clean(" ".join(qualifiers))


def snake_key(text: str) -> str:
    base, qualifier = normalise_header(text)
    return "_".join(f"{base} {qualifier}".split()) or "column"


def _score(base: str, field_name: str) -> tuple[float, str]:
    best, reason = 0.0, "unmapped"
    tokens = f" {base} "
    for syn in FIELD_SYNONYMS[field_name]:
        if base == syn:
            return 100.0, "synonym"
        if len(syn) >= 3 and f" {syn} " in tokens:
            score, why = 90.0, "synonym_in_header"
        else:
            score, why = fuzz.ratio(base, syn), "fuzzy"
        if score > best:
            best, reason = score, why
    return best, reason


def _qualifier_meaning(qualifier: str, base: str) -> tuple[str | None, str | None, bool | None]:
    words = qualifier.split()
    currency = next((CURRENCY_WORDS[w] for w in words if w in CURRENCY_WORDS), None)
    unit = next((UNIT_WORDS[w] for w in words if w in UNIT_WORDS), None)
    text = f"{base} {qualifier}"
    vat = True if any(v in text for v in VAT_WORDS) else None
    if currency:
        unit = None  # `Цена, р.`: the qualifier is a currency, not metres
    return currency, unit, vat


def _header_score(row: list[CellValue]) -> int:
    fields = set()
    for cell in row:
        if isinstance(cell, str) and cell.strip():
            base, _ = normalise_header(cell)
            for f in FIELD_SYNONYMS:
                if _score(base, f)[0] >= MATCH_THRESHOLD:
                    fields.add(f)
    return len(fields)


def detect_header_row(rows: list[list[CellValue]]) -> int | None:
    """0-based index of the header row, or None for a headerless list."""
    best, best_idx = 1, None
    for idx, row in enumerate(rows[: defaults.HEADER_SCAN_ROWS]):
        score = _header_score(row)
        if score > best:
            best, best_idx = score, idx
    return best_idx


def _keys(headers: list[CellValue], width: int) -> list[str]:
    keys: list[str] = []
    seen: set[str] = set()
    for i in range(width):
        raw = headers[i] if i < len(headers) else None
        text = " ".join(str(raw).split()) if raw is not None else ""
        key = text or f"col_{column_letter(i).lower()}"
        if key in seen:
            key = f"{key}__{column_letter(i)}"
        seen.add(key)
        keys.append(key)
    return keys


def _as_number(value: CellValue) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    text = value.strip()
    if not _NUMBER.match(text):
        return None
    digits = re.sub(r"[^\d.,-]", "", text)
    if "," in digits and "." in digits:
        digits = (
            digits.replace(",", "")
            if digits.rfind(".") > digits.rfind(",")
            else digits.replace(".", "").replace(",", ".")
        )
    else:
        digits = digits.replace(",", ".")
    try:
        return float(digits)
    except ValueError:
        return None


@dataclass
class ColumnEvidence:
    """What a column's values say about it (fractions are over its non-empty cells)."""

    col: ColumnMapping
    numeric: float  # money-like numbers
    decimal: float  # written with one or two decimals
    median: float
    positive: float
    avg_len: float
    spaces: float  # text with inner spaces: names, not codes
    code: float  # single code-like token
    unique: float
    fill: float  # non-empty share of the sampled rows

    @classmethod
    def of(cls, col: ColumnMapping, sample: list[list[CellValue]]) -> ColumnEvidence | None:
        values = [r[col.index] for r in sample if col.index < len(r) and r[col.index] is not None]
        if not values:
            return None
        n = len(values)
        numbers = [x for x in (_as_number(v) for v in values) if x is not None]
        texts = [str(v) for v in values]
        return cls(
            col=col,
            numeric=len(numbers) / n,
            decimal=sum(1 for t in texts if re.search(r"[.,]\d{1,2}\b", t)) / n,
            median=median(numbers) if numbers else 0.0,
            positive=sum(1 for x in numbers if x > 0) / n,
            avg_len=sum(len(t) for t in texts) / n,
            spaces=sum(1 for t in texts if " " in t.strip()) / n,
            code=sum(1 for t in texts if _CODE.match(t.strip())) / n,
            unique=len(set(texts)) / n,
            fill=n / len(sample),
        )


def _infer_from_values(
    columns: list[ColumnMapping], rows: list[list[CellValue]], wanted: set[str]
) -> None:
    """Fill `wanted` fields from value evidence, using only unmapped columns.

    Price: mostly positive money-like numbers; decimals, not being the first column and the
    largest median break ties (a price beats a quantity, a code column comes first).
    Name: mostly text with spaces, the longest. Code: unique single tokens, the leftmost.
    """
    sample = [r for r in rows[:500] if any(v is not None for v in r)]
    if not sample:
        return
    candidates = [c for c in columns if c.field is None and c.reason != "manual_override"]
    stats = [e for e in (ColumnEvidence.of(c, sample) for c in candidates) if e is not None]
    if "price" in wanted:
        prices = [s for s in stats if s.numeric >= 0.8 and s.positive >= 0.8]
        if prices:
            top_median = max(s.median for s in prices)

            def price_score(s: ColumnEvidence) -> tuple[float, int]:
                first = s.col.index == 0
                score = (
                    s.numeric
                    + 0.5 * s.decimal
                    + (0 if first else 0.2)
                    + (0.1 if s.median == top_median else 0)
                    - (0.3 * s.unique if first else 0)
                )
                return score, -s.col.index

            best = max(prices, key=price_score)
            _assign(best.col, "price", 60.0, "value_pattern")
            stats.remove(best)
    if "name" in wanted:
        names = [s for s in stats if s.numeric < 0.5 and s.spaces >= 0.3]
        if names:
            best = max(names, key=lambda s: (s.avg_len * s.fill, -s.col.index))
            _assign(best.col, "name", 60.0, "value_pattern")
            stats.remove(best)
    if "supplier_sku" in wanted:
        codes = [s for s in stats if s.code >= 0.9 and s.unique >= 0.9 and s.fill >= 0.9]
        if codes:
            best = min(codes, key=lambda s: s.col.index)
            _assign(best.col, "supplier_sku", 60.0, "value_pattern")


def _assign(col: ColumnMapping, field_name: str, score: float, reason: str) -> None:
    col.field, col.score, col.reason, col.characteristic_key = field_name, score, reason, None


def map_sheet(
    sheet: Sheet, overrides: dict[str, str] | None = None, where: str = ""
) -> MappedSheet:
    """Find the header, map columns to fields, and key each data row's cells."""
    overrides = overrides or {}
    rows = sheet.rows
    label = f"{where}, sheet {sheet.name!r}" if where else f"sheet {sheet.name!r}"
    if not any(any(v is not None for v in r) for r in rows):
        raise NoDataRowsError(f"{label}: the sheet is empty")
    header_idx = detect_header_row(rows)
    width = max(len(r) for r in rows)
    headers: list[CellValue] = rows[header_idx] if header_idx is not None else []
    keys = _keys(headers, width)
    columns = [
        ColumnMapping(
            index=i,
            letter=column_letter(i),
            header=(" ".join(str(headers[i]).split()) or None)
            if i < len(headers) and headers[i] is not None
            else None,
            key=keys[i],
        )
        for i in range(width)
    ]
    data = rows[header_idx + 1 :] if header_idx is not None else rows
    first_data_row = (header_idx + 2) if header_idx is not None else 1

    taken: set[str] = set()
    for col in columns:  # manual overrides first
        target = overrides.get(col.header or "") or overrides.get(col.key)
        if target is None:
            continue
        if target == "ignore":
            col.reason = "manual_override"
            col.characteristic_key = None
        elif target.startswith("characteristic:"):
            col.reason, col.score = "manual_override", 100.0
            col.characteristic_key = target.split(":", 1)[1]
        else:
            _assign(col, target, 100.0, "manual_override")
            taken.add(target)

    candidates = []
    for col in columns:
        if col.header is None or col.reason == "manual_override":
            continue
        base, qualifier = normalise_header(col.header)
        col.currency, col.unit, col.vat_included = _qualifier_meaning(qualifier, base)
        for f in FIELD_SYNONYMS:
            score, reason = _score(base, f)
            if score >= MATCH_THRESHOLD and f not in taken:
                candidates.append((score, -col.index, f, col, reason))
    for score, _, f, col, reason in sorted(candidates, key=lambda c: (c[0], c[1]), reverse=True):
        if f in taken or col.field is not None:
            continue
        _assign(col, f, round(score, 1), reason)
        taken.add(f)

    missing = {f for f in ("supplier_sku", *REQUIRED_FIELDS) if f not in taken}
    if missing:
        _infer_from_values(columns, data, missing)

    for col in columns:
        if col.field is None and col.reason != "manual_override":
            col.characteristic_key = snake_key(col.header) if col.header else col.key
        elif col.field is None and col.characteristic_key is None:
            col.reason = "ignored"

    mapping = SheetMapping(
        sheet=sheet.name, header_row=None if header_idx is None else header_idx + 1, columns=columns
    )
    lacking = [f for f in REQUIRED_FIELDS if mapping.column_for(f) is None]
    if lacking:
        seen = [c.header or c.key for c in columns]
        raise MappingError(f"{label}: no column found for {', '.join(lacking)}; columns are {seen}")

    keyed: list[tuple[int, dict[str, CellValue]]] = [
        (first_data_row + offset, {keys[i]: v for i, v in enumerate(row) if v is not None})
        for offset, row in enumerate(data)
    ]
    if not any(cells for _, cells in keyed):
        raise NoDataRowsError(
            f"{label}: header on row {mapping.header_row} but no data rows below it"
        )
    return MappedSheet(mapping=mapping, rows=keyed)
