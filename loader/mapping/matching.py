"""What a header says: the meaning of one header cell, with a score and a reason.

Rules (scores are 0-100):
- `exact`: the normalised, stemmed header is a synonym (`Артикул`, `Цена, руб.`, `PVP`): 100
  (90 for the generic `ID`, `Item`, `Part`, `Ref`).
- `synonym`: a synonym appears as whole words inside a longer header (`Цена с НДС`,
  `Prijs_incl_heffingen`): 70 plus up to 30 for the share of the header it covers. An
  abbreviation of a one-word synonym (`Наим.`, `Стоим.`) scores 75-90 by how much it spells out.
- `fuzzy`: rapidfuzz's ratio against a synonym, from 85 (typos such as `Наименовние`), times 0.9
  so that it never beats a real synonym.
- When a header carries several meanings the highest score wins, so the synonym covering more of
  the header (`Item Description` is a name), then the longer synonym, then the more specific
  meaning (`Код EAN` is a barcode; see MEANING_PRIORITY).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz

from loader.mapping.synonyms import (
    CURRENCY_WORDS,
    FIELD_SYNONYMS,
    NO_VAT_WORDS,
    OTHER_SYNONYMS,
    PRICE_KIND_WORDS,
    UNIT_WORDS,
    VAT_WORDS,
    WEAK_SCORE,
    WEAK_SYNONYMS,
)
from loader.mapping.text import normalise_header, stems

MATCH_THRESHOLD = 70.0
FUZZY_MIN_RATIO = 85.0
# Ties between meanings of equal synonym length go to the more specific one.
MEANING_PRIORITY = [
    "price",
    "barcode",
    "manufacturer_code",
    "currency",
    "stock",
    "unit",
    "vat_rate",
    "discount",
    "weight",
    "variant",
    "brand",
    "category",
    "url",
    "description",
    "row_number",
    "supplier_sku",
    "name",
]
FIELDS = tuple(FIELD_SYNONYMS)
# Words that decide a header alone wherever they stand in it.
STRONG_MEANINGS = ("barcode",)


@dataclass(frozen=True)
class HeaderMatch:
    meaning: str
    score: float
    reason: str  # exact | synonym | fuzzy
    synonym: str


@dataclass(frozen=True)
class HeaderMeaning:
    """Facts a header states besides its meaning: `Цена, руб. с НДС`, `Price (HKD)`, `Вес, кг`."""

    currency: str | None = None
    unit: str | None = None
    vat_included: bool | None = None
    price_kind: str | None = None
    min_quantity: int | None = None


def _build_index() -> list[tuple[str, tuple[str, ...], str]]:
    index = []
    for table in (FIELD_SYNONYMS, OTHER_SYNONYMS):
        for meaning, synonyms in table.items():
            for syn in synonyms:
                base, qualifier = normalise_header(syn)
                text = f"{base} {qualifier}".strip()
                index.append((meaning, stems(text), text))
    return index


_INDEX = _build_index()


def _contains(tokens: tuple[str, ...], part: tuple[str, ...]) -> bool:
    n = len(part)
    return any(tokens[i : i + n] == part for i in range(len(tokens) - n + 1))


def _abbreviates(tokens: tuple[str, ...], word: tuple[str, ...]) -> int:
    """`наим` for `наименование`: a header word of four letters or more that starts a one-word
    synonym. Returns the abbreviation's length, 0 when there is none."""
    if len(word) != 1:
        return 0
    return max((len(t) for t in tokens if len(t) >= 4 and word[0].startswith(t)), default=0)


@lru_cache(maxsize=4096)
def header_matches(header: str) -> tuple[HeaderMatch, ...]:
    """Every meaning the header may have (best match per meaning), best first."""
    base, qualifier = normalise_header(header)
    if not base:
        base, qualifier = qualifier, ""
    tokens = stems(base)
    if not tokens:
        return ()
    base_len = len(base.replace(" ", ""))
    best: dict[str, HeaderMatch] = {}
    for meaning, syn_tokens, syn_text in _INDEX:
        syn_len = len(syn_text.replace(" ", ""))
        if tokens == syn_tokens:
            score = WEAK_SCORE if syn_text in WEAK_SYNONYMS else 100.0
            match = HeaderMatch(meaning, score, "exact", syn_text)
        elif _contains(tokens, syn_tokens):
            covered = min(1.0, syn_len / base_len)
            score = 70 + 30 * covered
            if meaning in STRONG_MEANINGS:
                score = max(score, 92.0)  # `product_ean` is a barcode whatever else it says
            match = HeaderMatch(meaning, round(score, 1), "synonym", syn_text)
        elif short := _abbreviates(tokens, syn_tokens):
            covered = min(1.0, short / syn_len) * min(1.0, short / base_len)
            match = HeaderMatch(
                meaning, round(min(90.0, 75 + 20 * covered), 1), "synonym", syn_text
            )
        elif len(base) >= 4 and (ratio := fuzz.ratio(base, syn_text)) >= FUZZY_MIN_RATIO:
            match = HeaderMatch(meaning, round(ratio * 0.9, 1), "fuzzy", syn_text)
        else:
            continue
        old = best.get(meaning)
        if old is None or (match.score, len(match.synonym)) > (old.score, len(old.synonym)):
            best[meaning] = match
    return tuple(sorted(best.values(), key=_rank))


def _rank(match: HeaderMatch) -> tuple[float, int, int]:
    return (-match.score, -len(match.synonym), _priority(match))


def _priority(match: HeaderMatch) -> int:
    return MEANING_PRIORITY.index(match.meaning)


def best_match(header: str | None) -> HeaderMatch | None:
    if not header:
        return None
    matches = [m for m in header_matches(header) if m.score >= MATCH_THRESHOLD]
    return matches[0] if matches else None


def field_score(header: str | None, field: str) -> HeaderMatch | None:
    """The header's match for one standard field, when that is what the header means most."""
    best = best_match(header)
    return best if best is not None and best.meaning == field else None


def header_meaning(header: str | None) -> HeaderMeaning:
    if not header:
        return HeaderMeaning()
    base, qualifier = normalise_header(header)
    words = f"{base} {qualifier}".split()
    text = " ".join(words)
    currency = next((CURRENCY_WORDS[w] for w in words if w in CURRENCY_WORDS), None)
    if currency is None:
        currency = next((c for w, c in CURRENCY_WORDS.items() if " " in w and w in text), None)
    unit = None if currency else next((UNIT_WORDS[w] for w in words if w in UNIT_WORDS), None)
    vat: bool | None = None
    if any(v in text for v in NO_VAT_WORDS):
        vat = False
    elif any(v in text for v in VAT_WORDS):
        vat = True
    kinds = [PRICE_KIND_WORDS[w] for w in words if w in PRICE_KIND_WORDS]
    quantity = next(
        (int(w) for i, w in enumerate(words) if w.isdigit() and _is_band(words, i)), None
    )
    return HeaderMeaning(
        currency=currency,
        unit=unit,
        vat_included=vat,
        price_kind=kinds[0] if kinds else None,
        min_quantity=quantity,
    )


def _is_band(words: list[str], i: int) -> bool:
    """`от 10 шт`, `from 10`, `10+`, `>= 10` (the `+` is cut by normalising, so also `10 шт`)."""
    before = words[i - 1] if i > 0 else ""
    after = words[i + 1] if i + 1 < len(words) else ""
    return before in ("от", "from", "vanaf", "ab", "desde", "min") or after in ("шт", "pcs", "st")
