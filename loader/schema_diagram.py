"""docs/schema.md: the database's tables, columns and foreign keys as a Mermaid ER diagram,
generated from a live database (information_schema), so it cannot drift from the migrations and
the dbt models. GitHub and most Markdown viewers draw Mermaid blocks."""

from __future__ import annotations

from collections import defaultdict

import psycopg

SCHEMAS = ("raw", "marts", "snapshots")

COLUMNS = """
    select c.table_schema, c.table_name, c.column_name,
           case when c.data_type = 'USER-DEFINED' then c.udt_name else c.data_type end,
           t.table_type
    from information_schema.columns c
    join information_schema.tables t using (table_schema, table_name)
    where c.table_schema = any(%s) and c.table_name not like '\\_dlt\\_pipeline%%'
    order by c.table_schema, c.table_name, c.ordinal_position
"""

# Foreign keys with their delete rule, one row per constraint (single-column keys here).
FOREIGN_KEYS = """
    select src_ns.nspname, src.relname, att.attname, dst_ns.nspname, dst.relname,
           case con.confdeltype when 'c' then 'cascade' when 'n' then 'set null'
                when 'r' then 'restrict' else 'no action' end
    from pg_constraint con
    join pg_class src on src.oid = con.conrelid
    join pg_namespace src_ns on src_ns.oid = src.relnamespace
    join pg_class dst on dst.oid = con.confrelid
    join pg_namespace dst_ns on dst_ns.oid = dst.relnamespace
    join pg_attribute att on att.attrelid = con.conrelid and att.attnum = con.conkey[1]
    where con.contype = 'f' and src_ns.nspname = any(%s)
    order by 1, 2, 3
"""

KEYS = """
    select ns.nspname, rel.relname, att.attname, con.contype
    from pg_constraint con
    join pg_class rel on rel.oid = con.conrelid
    join pg_namespace ns on ns.oid = rel.relnamespace
    join pg_attribute att on att.attrelid = con.conrelid and att.attnum = any(con.conkey)
    where con.contype in ('p', 'u') and ns.nspname = any(%s)
"""


def _entity(schema: str, table: str) -> str:
    return f"{schema}_{table}".replace("__", "_")


def render(conn: psycopg.Connection) -> str:
    columns: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    views: set[tuple[str, str]] = set()
    for schema, table, column, data_type, table_type in conn.execute(COLUMNS, (list(SCHEMAS),)):
        columns[(schema, table)].append((column, data_type))
        if table_type == "VIEW":
            views.add((schema, table))
    keys: dict[tuple[str, str, str], str] = {}
    for schema, table, column, kind in conn.execute(KEYS, (list(SCHEMAS),)):
        if keys.get((schema, table, column)) != "PK":
            keys[(schema, table, column)] = "PK" if kind == "p" else "UK"
    fks = conn.execute(FOREIGN_KEYS, (list(SCHEMAS),)).fetchall()
    for schema, table, column, *_ in fks:
        keys[(schema, table, column)] = "FK"

    lines = [
        "# Database schema",
        "",
        "Generated from a migrated database where dbt has built every model, by",
        "`loader docs diagram` (a test fails when this file is out of date). Tables of `raw`",
        "(what the loader lands), `marts` (what analysts read) and `snapshots` (the price history",
        "engine); views are marked. A line is a foreign key, labelled with its delete rule.",
        "",
        "```mermaid",
        "erDiagram",
    ]
    for schema, table, column, dst_schema, dst_table, rule in fks:
        parent, child = _entity(dst_schema, dst_table), _entity(schema, table)
        lines.append(f'    {parent} ||--o{{ {child} : "{column}, on delete {rule}"')
    for (schema, table), cols in sorted(columns.items()):
        label = f"{schema}.{table}" + (" (view)" if (schema, table) in views else "")
        lines.append(f'    {_entity(schema, table)}["{label}"] {{')
        for column, data_type in cols:
            key = keys.get((schema, table, column))
            type_name = data_type.replace(" ", "_")
            lines.append(f"        {type_name} {column}" + (f" {key}" if key else ""))
        lines.append("    }")
    lines += ["```", ""]
    return "\n".join(lines)
