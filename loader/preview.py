"""`loader preview`: the mapping decision for a list, without writing anything.

It reads only the first PREVIEW_ROWS rows of each sheet (enough for header detection and value
evidence, which look at no more than that) and maps them exactly as a task would, with the
supplier's memory and saved overrides when a supplier is given.

JSON output, one object: the first sheet's decision at the top level, every sheet in `sheets`.
Indexes are 0-based positions in the sheet grid: row 0 is the first row of the file or sheet
(blank rows count), column 0 is column A (empty leading columns count).
"""

from __future__ import annotations

from typing import Any

from loader.jobs import read_and_map
from loader.mapping import MappedSheet
from loader.mapping.memory import RememberedMapping
from loader.task import ParseTask

PREVIEW_ROWS = 1000


def preview(
    task: ParseTask,
    memory: list[RememberedMapping] | None = None,
    supplier_overrides: dict[str, str] | None = None,
) -> dict[str, Any]:
    mapped, skipped = read_and_map(task, memory, supplier_overrides, max_rows=PREVIEW_ROWS)
    sheets = [sheet_decision(m) for m in mapped]
    return {
        "source": task.source.describe(),
        **sheets[0],
        "sheets": sheets,
        "skipped_sheets": skipped,
    }


def sheet_decision(mapped: MappedSheet) -> dict[str, Any]:
    m = mapped.mapping
    fields = {}
    for name in ("supplier_sku", "name", "price"):
        col = m.column_for(name)
        fields[name] = col.index if col is not None else None
    currency_col = m.column_for("currency")
    return {
        "sheet": m.sheet,
        "header_row": None if m.header_row is None else m.header_row - 1,
        "header_rows": [r - 1 for r in m.header_rows],
        "fields": fields,
        "currency_column": currency_col.index if currency_col is not None else None,
        "currency": m.currency,
        "status": "needs_review" if m.needs_review else "mapped",
        "review": m.review,
        "warnings": m.warnings,
        "columns": [
            {
                "index": c.index,
                "letter": c.letter,
                "header": c.header,
                "field": c.field,
                "score": c.score,
                "reason": c.reason,
                "meaning": c.meaning,
                "characteristic_key": c.characteristic_key,
                "currency": c.currency,
                "unit": c.unit,
                "vat_included": c.vat_included,
                "price_kind": c.price_kind,
                "identity": c.identity,
            }
            for c in m.columns
        ],
        "candidates": {
            f: [
                {"index": c.column, "header": c.header, "score": c.score, "reason": c.reason}
                for c in cands
            ]
            for f, cands in m.candidates.items()
        },
        "memory": None
        if m.memory is None
        else {
            "fingerprint": m.memory.fingerprint,
            "exact": m.memory.exact,
            "fields": m.memory.fields,
            "added": m.memory.added,
            "removed": m.memory.removed,
            "moved": m.memory.moved,
            "lost": m.memory.lost,
        },
        "fingerprint": m.fingerprint,
        "rows_previewed": mapped.count_rows(),
    }


def render_table(decision: dict[str, Any]) -> str:
    """The readable form: one block per sheet, one line per column."""
    out = [f"source: {decision['source']}"]
    for sheet in decision["sheets"]:
        header = sheet["header_row"]
        rows = ", ".join(str(r) for r in sheet["header_rows"]) if header is not None else "none"
        out += [
            "",
            f"sheet {sheet['sheet']!r}: header row {rows} (0-based), currency "
            f"{sheet['currency'] or '-'}, {sheet['status']}",
        ]
        out.append(f"  {'col':<4} {'header':<32} {'field':<13} {'score':>5}  {'reason':<17} key")
        for c in sheet["columns"]:
            header_text = (c["header"] or "")[:32]
            out.append(
                f"  {c['letter']:<4} {header_text:<32} {c['field'] or '':<13} {c['score']:>5g}  "
                f"{c['reason']:<17} {c['characteristic_key'] or ''}"
            )
        out += [f"  review: {why}" for why in sheet["review"]]
        if sheet["memory"]:
            mem = sheet["memory"]
            changes = [f"{k}: {', '.join(mem[k])}" for k in ("added", "removed", "moved") if mem[k]]
            out.append(
                f"  memory: {'same header' if mem['exact'] else 'drifted header'}"
                + (f" ({'; '.join(changes)})" if changes else "")
            )
    for name, why in decision["skipped_sheets"].items():
        out.append(f"skipped sheet {name!r}: {why}")
    return "\n".join(out)
