"""Header detection and column mapping: which column is the code, the name, the price.

Order of authority, for every standard field (each field goes to one column):
1. overrides: the task's `column_overrides`, then the supplier's saved ones (reason `override`);
2. supplier memory: the mapping confirmed for this supplier's header (reason `supplier_history`),
   see `memory`;
3. the header: synonyms and fuzzy matches (reasons `exact`, `synonym`, `fuzzy`, see `matching`);
4. the values (reason `value_pattern`, see `evidence`): for lists with no header, and for a name
   or price the header does not name. A supplier code comes from values only in headerless lists
   (a header row without a code column means the list has none).

Rules:
- The main price is the price column with the highest header score (a discounted or purchase
  price counts 10 less); on a tie, the one whose values are more often numbers, then the
  leftmost. Every other price column stays a
  characteristic named by its meaning: `price_wholesale`, `price_retail`, `price_from_10`,
  `price_usd`..., or its header when it says nothing known.
- With no code column, `Артикул производителя`/`Fabrikantscode` is the code. Failing that, the
  item's key is derived in dbt from its name and the columns marked `identity` (brand, maker's
  code, barcode, variant, unit), so it does not depend on row order or on other items.
- Below REVIEW_THRESHOLD, or when no column can be the name or the price, the sheet needs review:
  nothing is guessed, and the candidates are listed.
- Cell keys are the header text; blank headers become `col_<letter>`, duplicates
  `<header>__<letter>`, so no column is lost.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from loader import defaults
from loader.exceptions import NoDataRowsError
from loader.mapping import evidence as ev
from loader.mapping.header import Merge, detect_header
from loader.mapping.matching import HeaderMatch, best_match, header_matches, header_meaning
from loader.mapping.memory import MemoryUse, RememberedMapping, apply_memory
from loader.mapping.synonyms import CURRENCY_WORDS, OTHER_SYNONYMS, SECONDARY_PRICE_KINDS
from loader.mapping.text import column_letter, normalise_header, snake_key
from loader.sources.base import CellValue, Sheet, is_blank

__all__ = [
    "REQUIRED_FIELDS",
    "REVIEW_THRESHOLD",
    "ColumnMapping",
    "MappedSheet",
    "SheetMapping",
    "column_letter",
    "fingerprint",
    "map_sheet",
    "normalise_header",
    "snake_key",
]

REVIEW_THRESHOLD = 70.0
MAPPED_FIELDS = ("supplier_sku", "name", "price", "currency")
REQUIRED_FIELDS = ("name", "price")
IDENTITY_MEANINGS = ("brand", "manufacturer_code", "barcode", "variant", "unit")


@dataclass
class ColumnMapping:
    index: int
    letter: str
    header: str | None
    key: str
    field: str | None = None
    characteristic_key: str | None = None
    meaning: str | None = None  # what a non-field column is: brand, barcode, stock...
    score: float = 0.0
    reason: str = "unmapped"
    currency: str | None = None
    unit: str | None = None
    vat_included: bool | None = None
    price_kind: str | None = None
    min_quantity: int | None = None
    identity: bool = False  # part of the derived key of an item without a code


@dataclass
class Candidate:
    column: int
    header: str | None
    score: float
    reason: str


@dataclass
class SheetMapping:
    sheet: str
    header_row: int | None  # 1-based sheet row of the (top) header, None when there is none
    columns: list[ColumnMapping] = field(default_factory=list)
    header_rows: list[int] = field(default_factory=list)  # 1-based, all rows of the header
    currency: str | None = None
    fingerprint: str = ""
    review: list[str] = field(default_factory=list)  # why a person must decide; empty: mapped
    warnings: list[str] = field(default_factory=list)  # kept going, but worth a look
    candidates: dict[str, list[Candidate]] = field(default_factory=dict)
    memory: MemoryUse | None = None

    @property
    def needs_review(self) -> bool:
        return bool(self.review)

    def column_for(self, field_name: str) -> ColumnMapping | None:
        return next((c for c in self.columns if c.field == field_name), None)

    def review_message(self) -> str:
        """What is unsure and which columns could be the answer, for the person who decides."""
        found = []
        for field_name, candidates in self.candidates.items():
            if not candidates:
                continue
            listed = ", ".join(
                (f"{c.header!r} (column {column_letter(c.column)}," if c.header else
                 f"column {column_letter(c.column)} (") + f" {c.reason} {c.score:g})"
                for c in candidates
            )  # fmt: skip
            found.append(f"{field_name}: {listed}")
        seen = "; ".join(found) or "no candidates"
        return f"sheet {self.sheet!r}: {'; '.join(self.review)}. Candidates: {seen}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "sheet": self.sheet,
            "header_row": self.header_row,
            "header_rows": self.header_rows,
            "currency": self.currency,
            "fingerprint": self.fingerprint,
            "columns": [asdict(c) for c in self.columns],
            "memory": asdict(self.memory) if self.memory else None,
        }


KeyedRow = tuple[int, dict[str, CellValue]]  # (1-based row number, cells by key)


@dataclass
class MappedSheet:
    mapping: SheetMapping
    rows: list[KeyedRow]  # every data row; of a streamed sheet, the first ones
    rest: Iterator[KeyedRow] | None = None  # a streamed sheet's other rows, read once
    streamed_rows: int = 0  # how many of `rest` have been read
    streamed_s: float = 0.0  # seconds spent reading them (a part of landing, for make bench)

    def iter_rows(self) -> Iterator[KeyedRow]:
        """Every data row, once: a streamed sheet's rest is read as it is yielded."""
        yield from self.rows
        rest, self.rest = self.rest, None
        if rest is None:
            return
        clock = time.perf_counter
        while True:
            started = clock()
            row = next(rest, None)
            self.streamed_s += clock() - started
            if row is None:
                return
            self.streamed_rows += 1
            yield row

    @property
    def row_count(self) -> int:
        """The data rows read so far: all of them once `iter_rows` has run to the end."""
        return len(self.rows) + self.streamed_rows

    def count_rows(self) -> int:
        """Every data row, counted without keeping the rest (a sheet that is not landed)."""
        for _ in self.iter_rows():
            pass
        return self.row_count


def fingerprint(texts: tuple[str | None, ...] | list[str | None], has_header: bool) -> str:
    """Identifies a header layout: the normalised header texts in column order."""
    if not has_header:
        basis = f"headerless:{len(texts)}"
    else:
        basis = "|".join(" ".join(normalise_header(t or "")).strip() for t in texts).rstrip("|")
    return hashlib.sha256(basis.encode()).hexdigest()[:16]


def _keys(texts: tuple[str | None, ...]) -> list[str]:
    keys: list[str] = []
    seen: set[str] = set()
    for i, text in enumerate(texts):
        key = text or f"col_{column_letter(i).lower()}"
        if key in seen:
            key = f"{key}__{column_letter(i)}"
        seen.add(key)
        keys.append(key)
    return keys


def _assign(col: ColumnMapping, field_name: str, score: float, reason: str) -> None:
    col.field, col.score, col.reason = field_name, round(score, 1), reason
    col.characteristic_key = col.meaning = None


def map_sheet(
    sheet: Sheet,
    overrides: dict[str, str] | None = None,
    where: str = "",
    memory: list[RememberedMapping] | None = None,
    merges: list[Merge] | None = None,
) -> MappedSheet:
    """Find the header, map columns to fields, and key each data row's cells."""
    _read_enough(sheet)
    rows = sheet.rows
    label = f"{where}, sheet {sheet.name!r}" if where else f"sheet {sheet.name!r}"
    if all(is_blank(r) for r in rows):
        raise NoDataRowsError(f"{label}: the sheet is empty")
    known = [m.headers for m in memory or [] if m.has_header]
    named = [h for h in (overrides or {}) if not h.startswith("col_")]
    if len(named) >= 2:
        known.append(list(named))
    header = detect_header(rows, merges if merges is not None else sheet.merges, known)
    width = len(header.texts)
    keys = _keys(header.texts)
    columns = [
        ColumnMapping(index=i, letter=column_letter(i), header=header.texts[i], key=keys[i])
        for i in range(width)
    ]
    data = rows[header.data_start :]
    stats = ev.evidence(data, width)
    mapping = SheetMapping(
        sheet=sheet.name,
        header_row=None if header.row is None else header.row + 1,
        header_rows=[r + 1 for r in header.rows],
        columns=columns,
        fingerprint=fingerprint(header.texts, header.row is not None),
    )
    for col in columns:
        _describe(col)
    mapping.warnings += _duplicate_headers(columns)
    taken = _apply_overrides(columns, overrides or {})
    if memory:
        mapping.memory = apply_memory(
            columns, header, mapping.fingerprint, memory, taken, sheet.name
        )
    _map_by_header(columns, stats, taken)
    _map_by_values(columns, stats, taken, has_header=header.row is not None)
    _name_characteristics(columns, has_sku="supplier_sku" in taken)
    mapping.currency = _sheet_currency(mapping, data) or _stated_currency(rows[: header.row or 0])
    _review(mapping, stats)

    first_data_row = header.data_start + 1
    keyed = list(_keyed(data, keys, first_data_row))
    if not any(cells for _, cells in keyed):  # a streamed sheet's head has its data rows
        raise NoDataRowsError(
            f"{label}: header on row {mapping.header_row} but no data rows below it"
        )
    rest = None
    if sheet.rest is not None:
        rest = _keyed(sheet.rest, keys, len(rows) + 1)
        sheet.rest = None
    return MappedSheet(mapping=mapping, rows=keyed, rest=rest)


def _keyed(rows: Iterable[list[CellValue]], keys: list[str], first: int) -> Iterator[KeyedRow]:
    for number, row in enumerate(rows, start=first):
        yield number, {keys[i]: v for i, v in enumerate(row) if v is not None}


def _read_enough(sheet: Sheet) -> None:
    """A streamed sheet's head, extended until it holds the rows the mapping looks at (the
    header rows, and EVIDENCE_ROWS non-blank rows below them) or the whole sheet: the mapping
    is then the one the whole sheet would get."""
    if sheet.rest is None:
        return
    needed = defaults.HEADER_SCAN_ROWS + ev.EVIDENCE_ROWS
    filled = sum(1 for r in sheet.rows if not is_blank(r))
    while filled < needed:
        row = next(sheet.rest, None)
        if row is None:
            sheet.rest = None
            return
        sheet.rows.append(row)
        filled += not is_blank(row)


def _duplicate_headers(columns: list[ColumnMapping]) -> list[str]:
    by_text: dict[str, list[ColumnMapping]] = {}
    for col in columns:
        if col.header:
            by_text.setdefault(col.header, []).append(col)
    return [
        f"duplicate header {text!r} in columns {', '.join(c.letter for c in cols)}: kept as"
        f" {', '.join(repr(c.key) for c in cols)}"
        for text, cols in by_text.items()
        if len(cols) > 1
    ]


def _describe(col: ColumnMapping) -> None:
    """What the header says besides a field: its meaning, currency, unit, VAT, kind of price."""
    meaning = header_meaning(col.header)
    col.currency, col.unit, col.vat_included = meaning.currency, meaning.unit, meaning.vat_included
    col.price_kind, col.min_quantity = meaning.price_kind, meaning.min_quantity
    best = best_match(col.header)
    if best is not None:
        col.meaning, col.score, col.reason = best.meaning, best.score, best.reason


def _apply_overrides(columns: list[ColumnMapping], overrides: dict[str, str]) -> set[str]:
    taken: set[str] = set()
    for col in columns:
        target = overrides.get(col.header or "") or overrides.get(col.key)
        if target is None:
            continue
        col.reason, col.score, col.meaning = "override", 100.0, None
        if target == "ignore":
            col.characteristic_key = None
            col.field = None
        elif target.startswith("characteristic:"):
            col.characteristic_key = target.split(":", 1)[1]
        elif target not in taken:  # one column per field: the leftmost override wins
            _assign(col, target, 100.0, "override")
            taken.add(target)
    return taken


def _free(col: ColumnMapping) -> bool:
    return col.field is None and col.reason not in ("override", "supplier_history")


def _unexplained(col: ColumnMapping) -> bool:
    """Free, and its header does not say what it is (a stock or brand column is no price; a
    description may still be the only name a list has)."""
    return _free(col) and (col.meaning is None or col.meaning in (*MAPPED_FIELDS, "description"))


def _map_by_header(
    columns: list[ColumnMapping], stats: dict[int, ev.ColumnEvidence], taken: set[str]
) -> None:
    candidates: list[tuple[float, float, int, str, ColumnMapping, HeaderMatch]] = []
    for col in columns:
        match = best_match(col.header)
        if match is None or not _free(col) or match.meaning not in MAPPED_FIELDS:
            continue
        numeric = stats[col.index].numeric if col.index in stats else 0.0
        tiebreak = numeric if match.meaning == "price" else 0.0
        rank = match.score
        if match.meaning == "price" and col.price_kind in SECONDARY_PRICE_KINDS:
            rank -= 10  # `Sale price`, `Цена со скидкой`: not the main price beside a plain one
        candidates.append((rank, tiebreak, -col.index, match.meaning, col, match))
    for _, _, _, field_name, col, match in sorted(
        candidates, key=lambda c: (c[0], c[1], c[2]), reverse=True
    ):
        if field_name in taken or col.field is not None:
            continue
        _assign(col, field_name, match.score, match.reason)
        taken.add(field_name)
    if "supplier_sku" not in taken:
        maker = next((c for c in columns if c.meaning == "manufacturer_code" and _free(c)), None)
        if maker is not None:
            _assign(maker, "supplier_sku", min(maker.score, 80.0), maker.reason)
            taken.add("supplier_sku")


def _map_by_values(
    columns: list[ColumnMapping],
    stats: dict[int, ev.ColumnEvidence],
    taken: set[str],
    has_header: bool,
) -> None:
    def free_stats() -> list[ev.ColumnEvidence]:
        # Columns a header already explains (stock, brand ...) are not candidates either.
        return [s for i, s in stats.items() if _unexplained(columns[i])]

    if "name" not in taken:
        sku = next((c for c in columns if c.field == "supplier_sku"), None)
        if sku is not None and sku.reason != "override" and _is_text_column(stats.get(sku.index)):
            # `Item | Price`: the only text column is the item's name, not a code.
            _assign(sku, "name", 75.0, "value_pattern")
            taken.discard("supplier_sku")
            taken.add("name")
    for field_name, decide in (
        ("price", ev.price_column),
        ("name", ev.name_column),
        ("currency", ev.currency_column),
        ("supplier_sku", _code_beside_price(columns)),
    ):
        if field_name in taken or (field_name == "supplier_sku" and has_header):
            continue
        found = decide(free_stats())
        if found is not None:
            _assign(columns[found.index], field_name, found.score, "value_pattern")
            taken.add(field_name)


def _code_beside_price(
    columns: list[ColumnMapping],
) -> Callable[[list[ev.ColumnEvidence]], ev.Inferred | None]:
    def decide(stats: list[ev.ColumnEvidence]) -> ev.Inferred | None:
        price = next((c.index for c in columns if c.field == "price"), None)
        return ev.code_column(stats, price)

    return decide


def _is_text_column(stat: ev.ColumnEvidence | None) -> bool:
    return stat is not None and stat.spaces >= 0.5 and stat.avg_len >= 15 and stat.numeric < 0.2


def _name_characteristics(columns: list[ColumnMapping], has_sku: bool) -> None:
    used: set[str] = set()
    for col in columns:
        if col.field is not None or (col.reason == "override" and col.characteristic_key is None):
            if col.field is None:
                col.reason = "ignored"
            continue
        if col.characteristic_key is None:
            col.characteristic_key = _characteristic_key(col)
        if col.characteristic_key in used:
            col.characteristic_key = f"{col.characteristic_key}__{col.letter.lower()}"
        used.add(col.characteristic_key)
        col.identity = not has_sku and col.meaning in IDENTITY_MEANINGS


def _characteristic_key(col: ColumnMapping) -> str:
    match = best_match(col.header)
    if match is not None and match.meaning == "price":
        parts = ["price"]
        if col.price_kind:
            parts.append(col.price_kind)
        if col.min_quantity is not None:
            parts.append(f"from_{col.min_quantity}")
        if col.currency:
            parts.append(col.currency.lower())
        if len(parts) > 1:
            return "_".join(parts)
    if (
        col.meaning in OTHER_SYNONYMS
        and col.meaning not in ("description", "variant")
        and col.reason == "exact"
    ):
        return f"{col.meaning}_{col.unit}" if col.unit else col.meaning
    return snake_key(col.header) if col.header else col.key


def _currencies_in(values: Iterable[CellValue], min_len: int = 1) -> Counter[str]:
    """ISO codes of the currency words in the values (`руб.`, `USD`, `$`), counted."""
    found: Counter[str] = Counter()
    for value in values:
        if value is not None:
            words = normalise_header(str(value))[0].split()
            found.update(
                CURRENCY_WORDS[w] for w in words if len(w) >= min_len and w in CURRENCY_WORDS
            )
    return found


def _sheet_currency(mapping: SheetMapping, data: list[list[CellValue]]) -> str | None:
    """The list's currency as stated: the price header, a currency column, the price cells."""
    price = mapping.column_for("price")
    if price is not None and price.currency:
        return price.currency
    for col in (mapping.column_for("currency"), price):
        if col is not None:
            cells = (row[col.index] for row in ev.sample_rows(data) if col.index < len(row))
            found = _currencies_in(cells).most_common(1)
            if found:
                return found[0][0]
    return None


def _stated_currency(title_rows: list[list[CellValue]]) -> str | None:
    """`Цены указаны в рублях`, `Precios en EUR`: a currency named in the title rows (one-letter
    words such as `р` are too ambiguous there)."""
    found = _currencies_in((v for row in title_rows for v in row), min_len=2)
    return next(iter(found), None)


def _review(mapping: SheetMapping, stats: dict[int, ev.ColumnEvidence]) -> None:
    """A person decides when a required field is missing or any field is a weak guess."""
    for field_name in ("supplier_sku", *REQUIRED_FIELDS):
        col = mapping.column_for(field_name)
        mapping.candidates[field_name] = _candidates(mapping, field_name, stats)
        if col is None and field_name in REQUIRED_FIELDS:
            mapping.review.append(f"no column can be the {field_name}")
        elif col is not None and col.score < REVIEW_THRESHOLD:
            mapping.review.append(
                f"the {field_name} column {col.header or col.key!r} is a weak guess"
                f" ({col.reason}, score {col.score:g} < {REVIEW_THRESHOLD:g})"
            )


def _candidates(
    mapping: SheetMapping, field_name: str, stats: dict[int, ev.ColumnEvidence]
) -> list[Candidate]:
    found: list[Candidate] = []
    for col in mapping.columns:
        if col.field == field_name:
            found.append(Candidate(col.index, col.header, col.score, col.reason))
            continue
        match = next((m for m in header_matches(col.header or "") if m.meaning == field_name), None)
        if match is not None:
            found.append(Candidate(col.index, col.header, match.score, match.reason))
    if field_name == "price":
        for s in stats.values():
            if s.numeric >= 0.8 and all(c.column != s.index for c in found):
                found.append(
                    Candidate(s.index, mapping.columns[s.index].header, 50.0, "value_pattern")
                )
    return sorted(found, key=lambda c: (-c.score, c.column))[:5]
