"""What a column's values say about it: for lists with no header, and to break ties.

Rules, over up to EVIDENCE_ROWS non-blank data rows (fractions are of the column's filled cells):
- price: mostly (80%+) positive money-like numbers; written with decimals, not the first column,
  not a running row counter, the larger typical value (a price beats a quantity).
- name: mostly text with spaces, the longest and most filled; not a column repeating a few values
  (a brand or category).
- supplier code: unique single code-like tokens in nearly every row, not a 1, 2, 3 counter, not
  numbers right of the price, and not EAN barcodes when another code column exists; the
  leftmost wins.
- currency: cells that are currency codes or symbols (`USD`, `Р`, `руб.`).
- barcode: valid EAN-8/12/13/14 check digits.
A value-pattern decision scores 60-95 by its margin over the runner-up: two columns that look
alike give a low score, so the task asks a person instead of guessing.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from statistics import median

from loader.mapping.synonyms import CURRENCY_WORDS
from loader.mapping.text import as_number, cell_text, is_ean, normalise_header
from loader.sources.base import CellValue, is_blank

EVIDENCE_ROWS = 500
_CODE = re.compile(r"^[\w./-]{2,40}$")
_DECIMALS = re.compile(r"[.,]\d{1,2}$")


@dataclass
class ColumnEvidence:
    index: int
    filled: int
    fill: float  # filled share of the sampled rows
    numeric: float  # money-like numbers
    positive: float
    decimal: float  # written with one or two decimals (or stored as a non-whole number)
    median: float
    counter: bool  # 1, 2, 3 ... row numbers
    avg_len: float
    spaces: float  # text with inner spaces: names, not codes
    code: float  # single code-like tokens
    unique: float
    ean: float
    currency: float
    top_currency: str | None

    @classmethod
    def of(cls, index: int, sample: list[list[CellValue]]) -> ColumnEvidence | None:
        values = [r[index] for r in sample if index < len(r) and r[index] is not None]
        if not values:
            return None
        n = len(values)
        texts = [cell_text(v) for v in values]
        numbers = [as_number(v) for v in values]
        nums = [x for x in numbers if x is not None]
        currencies = [CURRENCY_WORDS.get(normalise_header(t)[0]) for t in texts]
        top = Counter(c for c in currencies if c).most_common(1)
        return cls(
            index=index,
            filled=n,
            fill=n / len(sample),
            numeric=len(nums) / n,
            positive=sum(1 for x in nums if x > 0) / n,
            decimal=sum(
                1
                for v, t in zip(values, texts, strict=True)
                if (isinstance(v, float) and not v.is_integer()) or _DECIMALS.search(t)
            )
            / n,
            median=median(nums) if nums else 0.0,
            counter=_is_counter(nums) and len(nums) == n,
            avg_len=sum(len(t) for t in texts) / n,
            spaces=sum(1 for t in texts if " " in t) / n,
            code=sum(1 for t in texts if _CODE.match(t)) / n,
            unique=len(set(texts)) / n,
            ean=sum(1 for v in values if is_ean(v)) / n,
            currency=sum(1 for c in currencies if c) / n,
            top_currency=top[0][0] if top else None,
        )


def _is_counter(numbers: list[float]) -> bool:
    if len(numbers) < 3:
        return False
    steps = [b - a for a, b in zip(numbers, numbers[1:], strict=False)]
    return sum(1 for s in steps if s == 1) >= 0.9 * len(steps)


def sample_rows(rows: list[list[CellValue]]) -> list[list[CellValue]]:
    return [r for r in rows if not is_blank(r)][:EVIDENCE_ROWS]


def evidence(rows: list[list[CellValue]], width: int) -> dict[int, ColumnEvidence]:
    sample = sample_rows(rows)
    if not sample:
        return {}
    found = (ColumnEvidence.of(i, sample) for i in range(width))
    return {e.index: e for e in found if e is not None}


@dataclass(frozen=True)
class Inferred:
    index: int
    score: float
    runner_up: int | None


def _decide(scored: list[tuple[float, int]]) -> Inferred | None:
    """Best by score (leftmost on a tie); confidence from the margin over the runner-up."""
    if not scored:
        return None
    ranked = sorted(scored, key=lambda s: (-s[0], s[1]))
    best_score, best_index = ranked[0]
    if len(ranked) == 1 or best_score <= 0:
        return Inferred(best_index, 90.0, None)
    second_score, second_index = ranked[1]
    margin = (best_score - second_score) / best_score
    return Inferred(best_index, round(60 + min(35.0, 100 * margin), 1), second_index)


def price_column(stats: list[ColumnEvidence]) -> Inferred | None:
    def score(s: ColumnEvidence) -> float:
        return (
            s.numeric
            + 0.5 * s.decimal
            + (0.0 if s.index == 0 else 0.2)
            + 0.15 * min(3.0, math.log10(max(s.median, 1.0)))
            - (0.6 if s.counter else 0.0)
            - (0.4 * s.unique if s.index == 0 else 0.0)
        ) * s.fill

    return _decide(
        [
            (score(s), s.index)
            for s in stats
            if s.numeric >= 0.8 and s.positive >= 0.8 and s.ean < 0.5
        ]
    )


def name_column(stats: list[ColumnEvidence]) -> Inferred | None:
    return _decide(
        [
            (s.avg_len * s.fill * min(1.0, 2 * s.unique), s.index)
            for s in stats
            if s.numeric < 0.5 and s.spaces >= 0.3 and s.currency < 0.5
        ]
    )


def code_column(stats: list[ColumnEvidence], price_index: int | None) -> Inferred | None:
    """A numbers-only code stands left of the price (to its right, numbers are prices and
    quantities)."""
    codes = [
        s
        for s in stats
        if s.code >= 0.9
        and s.unique >= 0.9
        and s.fill >= 0.9
        and not s.counter
        and s.spaces < 0.1
        and not (s.numeric >= 0.9 and price_index is not None and s.index > price_index)
    ]
    plain = [s for s in codes if s.ean < 0.8] or codes  # a barcode only when nothing else
    if not plain:
        return None
    best = min(plain, key=lambda s: s.index)
    return Inferred(best.index, 80.0 if best.ean < 0.8 else 70.0, None)


def currency_column(stats: list[ColumnEvidence]) -> Inferred | None:
    found = [s for s in stats if s.currency >= 0.8 and s.fill >= 0.5]
    if not found:
        return None
    best = min(found, key=lambda s: s.index)
    return Inferred(best.index, 90.0, None)
