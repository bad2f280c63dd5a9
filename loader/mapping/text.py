"""Text helpers shared by header matching and value evidence: normalising, stemming, numbers."""

from __future__ import annotations

import re
import unicodedata

from loader.sources.base import CellValue

_QUALIFIER = re.compile(r"\(([^)]*)\)|,(.*)$")
_NON_WORD = re.compile(r"[^\w$€₽£¥₴₸৳₹₺%]+", re.UNICODE)
_CYRILLIC = re.compile(r"[а-яіїєґ]")
# Longest first. Light stemming so that `цены`, `цене` and `цена` compare equal; only for
# Cyrillic words of four letters or more, so short abbreviations (`арт`, `опт`) stay as written.
_RU_ENDINGS = sorted(
    ["а", "я", "ы", "и", "у", "ю", "е", "о", "ь", "й", "ой", "ей", "ого", "его", "ому", "ему",
     "ий", "ый", "ая", "яя", "ое", "ее", "ие", "ые", "ов", "ев", "ам", "ям", "ах", "ях", "ом",
     "ем", "ью", "ию", "ия"],
    key=len, reverse=True,
)  # fmt: skip
# A money-like cell: an optional currency sign before (`$`, `€ `, not a word: `от 1 шт` is no
# number), digits with separators, an optional non-Latin suffix (`руб.`, `р.`, `₽`);
# `68377850AA` is a code, not a number.
_NUMBER = re.compile(r"^[^\w-]{0,4}-?\d[\d\s\u00a0\u202f\u2009.,']*[^\dA-Za-z]{0,6}$")


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _clean(value: str) -> str:
    return " ".join(_NON_WORD.sub(" ", value).replace("_", " ").split())


def normalise_header(text: str) -> tuple[str, str]:
    """Return (base, qualifier): `Цена, руб.` -> ("цена", "руб")."""
    s = unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")
    qualifiers = [q for m in _QUALIFIER.finditer(s) for q in m.groups() if q]
    base = _QUALIFIER.sub(" ", s)
    return _clean(base), _clean(" ".join(qualifiers))


def stem(word: str) -> str:
    if len(word) < 4 or not _CYRILLIC.search(word):
        return word
    for ending in _RU_ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)]
    return word


def stems(text: str) -> tuple[str, ...]:
    return tuple(stem(w) for w in text.split())


def snake_key(text: str) -> str:
    base, qualifier = normalise_header(text)
    return "_".join(f"{base} {qualifier}".replace("%", " pct").split()) or "column"


def as_number(value: CellValue) -> float | None:
    """The number a cell shows, for evidence only (dbt does the real parsing)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    text = value.strip()
    if not _NUMBER.match(text):
        return None
    # `0,01 руб.`: the dot of an abbreviation after the number is no decimal mark.
    digits = re.sub(r"[^\d.,-]", "", text).strip(".,")
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


def cell_text(value: CellValue) -> str:
    return "" if value is None else " ".join(str(value).split())


def is_ean(value: CellValue) -> bool:
    """A valid EAN-8, UPC-A, EAN-13 or GTIN-14 (check digit verified)."""
    text = cell_text(value)
    if isinstance(value, int):
        text = str(value)
    if not text.isdigit() or len(text) not in (8, 12, 13, 14):
        return False
    digits = [int(d) for d in text]
    body, check = digits[:-1], digits[-1]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check
