"""Per-supplier mapping memory and saved overrides, kept in PostgreSQL schema `raw`.

Rules:
- After a task lands, each sheet's mapping is remembered for its supplier under the fingerprint of
  its header (normalised header texts in order; `headerless:<width>` for lists without one).
- The next list from that supplier reuses it: the same fingerprint applies the remembered
  columns as they are; a drifted header (columns added, removed or moved) uses the remembered
  layout that shares the most header texts (at least half of them, the same sheet name first),
  and each remembered field goes to the column with the same header wherever it now stands.
  Fields whose column is gone are mapped afresh.
- What changed (added, removed, moved columns, lost fields) is recorded per task in
  `raw.mapping_changes`, once even when the task is retried.
- Overrides saved for a supplier (`loader mapping set`) apply to every list of that supplier;
  a task's own `column_overrides` win over them; both win over memory.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from psycopg.types.json import Jsonb

from loader.mapping.text import column_letter, normalise_header

if TYPE_CHECKING:
    import psycopg

    from loader.mapping import ColumnMapping, SheetMapping
    from loader.mapping.header import Header

MIN_OVERLAP = 0.5
FIELDS = ("supplier_sku", "name", "price", "currency")


@dataclass
class RememberedMapping:
    sheet: str
    fingerprint: str
    has_header: bool
    headers: list[str | None]  # header text per column, as it was
    fields: dict[str, int]  # field -> column index, as it was
    updated_at: dt.datetime | None = None

    @classmethod
    def of(cls, mapping: SheetMapping) -> RememberedMapping:
        return cls(
            sheet=mapping.sheet,
            fingerprint=mapping.fingerprint,
            has_header=mapping.header_row is not None,
            headers=[c.header for c in mapping.columns],
            fields={c.field: c.index for c in mapping.columns if c.field},
        )


@dataclass
class MemoryUse:
    fingerprint: str  # the remembered layout that was used
    exact: bool  # the header is the same as remembered
    fields: dict[str, str] = field(default_factory=dict)  # field -> column letter now
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)  # "Цена: D -> E"
    lost: list[str] = field(default_factory=list)  # remembered fields whose column is gone


def _norm(text: str | None) -> str:
    return " ".join(normalise_header(text or "")).strip()


def _overlap(a: list[str | None], b: list[str | None]) -> float:
    left, right = {_norm(t) for t in a if t}, {_norm(t) for t in b if t}
    if not left or not right:
        return 0.0
    return len(left & right) / len(left | right)


def choose(
    memories: list[RememberedMapping], fingerprint: str, texts: list[str | None], sheet: str
) -> RememberedMapping | None:
    exact = [m for m in memories if m.fingerprint == fingerprint]
    if exact:
        return max(exact, key=lambda m: (m.sheet == sheet, m.updated_at or dt.datetime.min))
    if not any(texts):
        return None  # a headerless list is only recognised by its exact shape
    scored = [(m, _overlap(m.headers, texts)) for m in memories if m.has_header]
    scored = [(m, o) for m, o in scored if o >= MIN_OVERLAP]
    if not scored:
        return None
    return max(
        scored, key=lambda mo: (mo[1], mo[0].sheet == sheet, mo[0].updated_at or dt.datetime.min)
    )[0]


def apply_memory(
    columns: list[ColumnMapping],
    header: Header,
    fingerprint: str,
    memories: list[RememberedMapping],
    taken: set[str],
    sheet: str,
) -> MemoryUse | None:
    texts = list(header.texts)
    memory = choose(memories, fingerprint, texts, sheet)
    if memory is None:
        return None
    use = MemoryUse(fingerprint=memory.fingerprint, exact=memory.fingerprint == fingerprint)
    if use.exact:
        targets = {f: i for f, i in memory.fields.items() if i < len(columns)}
    else:
        targets = {}
        now = Counter(_norm(t) for t in texts if t)
        for f, old_index in memory.fields.items():
            old = _norm(memory.headers[old_index]) if old_index < len(memory.headers) else ""
            if old and now[old] == 1:
                targets[f] = next(i for i, t in enumerate(texts) if _norm(t) == old)
            else:
                use.lost.append(f"{f}: {memory.headers[old_index]!r}")
        before = {_norm(t): t for t in memory.headers if t}
        after = {_norm(t): t for t in texts if t}
        use.added = [str(after[k]) for k in after if k not in before]
        use.removed = [str(before[k]) for k in before if k not in after]
        for f, i in targets.items():
            old_index = memory.fields[f]
            if old_index != i:
                use.moved.append(f"{texts[i]}: {column_letter(old_index)} -> {column_letter(i)}")
    for f, i in targets.items():
        col = columns[i]
        if f in taken or col.field is not None or col.reason == "override":
            continue
        col.field, col.score, col.reason = f, 100.0 if use.exact else 95.0, "supplier_history"
        col.characteristic_key = col.meaning = None
        taken.add(f)
        use.fields[f] = col.letter
    return use


# --- storage -------------------------------------------------------------------------------


def load(conn: psycopg.Connection[Any], supplier_code: str) -> list[RememberedMapping]:
    rows = conn.execute(
        "select sheet, fingerprint, has_header, headers, fields, updated_at"
        " from raw.supplier_mappings where supplier_code = %s order by updated_at desc",
        (supplier_code,),
    ).fetchall()
    return [RememberedMapping(*row) for row in rows]


def load_overrides(conn: psycopg.Connection[Any], supplier_code: str) -> dict[str, str]:
    rows = conn.execute(
        "select header, target from raw.supplier_overrides where supplier_code = %s",
        (supplier_code,),
    ).fetchall()
    return dict(rows)


def set_overrides(
    conn: psycopg.Connection[Any], supplier_code: str, overrides: dict[str, str]
) -> None:
    for header, target in overrides.items():
        conn.execute(
            "insert into raw.supplier_overrides (supplier_code, header, target) values (%s, %s, %s)"
            " on conflict (supplier_code, header) do update"
            " set target = excluded.target, updated_at = now()",
            (supplier_code, header, target),
        )


def forget(conn: psycopg.Connection[Any], supplier_code: str) -> tuple[int, int]:
    mappings = conn.execute(
        "delete from raw.supplier_mappings where supplier_code = %s", (supplier_code,)
    ).rowcount
    overrides = conn.execute(
        "delete from raw.supplier_overrides where supplier_code = %s", (supplier_code,)
    ).rowcount
    return mappings, overrides


def remember(
    conn: psycopg.Connection[Any], task_id: str, supplier_code: str, mapping: SheetMapping
) -> None:
    """Store the sheet's confirmed mapping and what changed since the remembered one."""
    layout = RememberedMapping.of(mapping)
    conn.execute(
        "insert into raw.supplier_mappings"
        " (supplier_code, fingerprint, sheet, has_header, headers, fields, first_task_id,"
        "  last_task_id)"
        " values (%s, %s, %s, %s, %s, %s, %s, %s)"
        " on conflict (supplier_code, fingerprint) do update set sheet = excluded.sheet,"
        " headers = excluded.headers, fields = excluded.fields,"
        " last_task_id = excluded.last_task_id, updated_at = now()",
        (
            supplier_code,
            layout.fingerprint,
            layout.sheet,
            layout.has_header,
            Jsonb(layout.headers),
            Jsonb(layout.fields),
            task_id,
            task_id,
        ),
    )
    use = mapping.memory
    if use is None or use.exact:
        return
    changes = [("column_added", h) for h in use.added]
    changes += [("column_removed", h) for h in use.removed]
    changes += [("column_moved", h) for h in use.moved]
    changes += [("field_lost", h) for h in use.lost]
    for kind, detail in changes:
        conn.execute(
            "insert into raw.mapping_changes"
            " (task_id, supplier_code, sheet, kind, detail, from_fingerprint, to_fingerprint)"
            " values (%s, %s, %s, %s, %s, %s, %s) on conflict do nothing",
            (task_id, supplier_code, mapping.sheet, kind, detail, use.fingerprint,
             mapping.fingerprint),
        )  # fmt: skip


def recent_changes(
    conn: psycopg.Connection[Any], supplier_code: str, limit: int = 50
) -> list[tuple[Any, ...]]:
    return conn.execute(
        "select detected_at, task_id, sheet, kind, detail from raw.mapping_changes"
        " where supplier_code = %s order by detected_at desc, id desc limit %s",
        (supplier_code, limit),
    ).fetchall()
