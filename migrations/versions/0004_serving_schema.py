"""The serving schema `marts`: tables with constraints that dbt fills but does not own.

Migrations own every table whose shape is a promise to its readers: the relations between them,
the checks and the indexes. dbt fills `suppliers`, `supplier_items` and the price snapshot with
incremental models (never a full refresh); people and the marketplace fill `categories` and
`products`. dbt keeps owning its views and its own bookkeeping tables (`parsing_logs`,
`task_summaries`, the staging and intermediate models), which it may rebuild at will.

- Deleting a supplier deletes its items and, through them, their price history.
- Deleting a product leaves the supplier items that offered it, unlinked.
- `characteristics` is always a JSON object.

An existing database keeps its data: a catalogue and history dbt built before this migration are
copied into the new tables.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SNAPSHOT_COLUMNS = """
    supplier_code, supplier_sku, price, currency, item_name, task_id, load_id,
    dbt_scd_id, dbt_updated_at, dbt_valid_from, dbt_valid_to, dbt_is_deleted
"""


def upgrade() -> None:
    for schema in ("staging", "marts", "snapshots"):
        op.execute(f"create schema if not exists {schema}")
    op.execute("create type marts.product_status as enum ('draft', 'active', 'archived')")
    op.execute(
        """
        create table marts.suppliers (
            supplier_id   bigint generated always as identity primary key,
            supplier_code text not null unique,
            name          text,
            first_seen_at timestamptz not null,
            created_at    timestamptz not null default now()
        )
        """
    )
    op.execute(
        """
        create table marts.categories (
            category_id bigint generated always as identity primary key,
            parent_id   bigint references marts.categories (category_id) on delete cascade,
            name        text not null,
            created_at  timestamptz not null default now(),
            unique nulls not distinct (parent_id, name)
        )
        """
    )
    op.execute(
        """
        create table marts.products (
            product_id  bigint generated always as identity primary key,
            name        text not null,
            category_id bigint references marts.categories (category_id) on delete set null,
            status      marts.product_status not null default 'draft',
            created_at  timestamptz not null default now(),
            updated_at  timestamptz not null default now()
        )
        """
    )
    op.execute("create index products_category_idx on marts.products (category_id)")
    _keep_dbt_built("marts", "supplier_items")
    op.execute(
        """
        create table marts.supplier_items (
            supplier_item_id  text primary key,
            supplier_id       bigint not null
                              references marts.suppliers (supplier_id) on delete cascade,
            supplier_code     text not null,
            supplier_sku      text not null,
            product_id        bigint references marts.products (product_id) on delete set null,
            name              text not null,
            currency          text,
            price             numeric not null check (price > 0),
            characteristics   jsonb not null default '{}'::jsonb
                              check (jsonb_typeof(characteristics) = 'object'),
            is_available      boolean not null default true,
            first_seen_at     timestamptz not null,
            last_seen_at      timestamptz not null,
            last_task_id      text not null,
            last_sheet        text,
            last_row_number   bigint,
            last_submitted_at timestamptz not null,
            source_parsed_at  timestamptz not null,
            unique (supplier_id, supplier_sku),
            unique (supplier_code, supplier_sku)
        )
        """
    )
    op.execute(
        "create index supplier_items_characteristics_idx"
        " on marts.supplier_items using gin (characteristics)"
    )
    op.execute(
        "create index supplier_items_last_seen_idx on marts.supplier_items (last_seen_at desc)"
    )
    op.execute("create index supplier_items_product_idx on marts.supplier_items (product_id)")
    # dbt's snapshot of supplier item prices, behind the price_history view. dbt writes it
    # (dbt snapshot); created here so that its rows go when their supplier item goes.
    _keep_dbt_built("snapshots", "supplier_item_prices")
    op.execute(
        """
        create table snapshots.supplier_item_prices (
            supplier_item_id text not null
                             references marts.supplier_items (supplier_item_id) on delete cascade,
            supplier_code    text not null,
            supplier_sku     text not null,
            price            numeric,
            currency         text,
            item_name        text,
            task_id          text,
            load_id          text,
            dbt_scd_id       text primary key,
            dbt_updated_at   timestamp without time zone,
            dbt_valid_from   timestamp without time zone,
            dbt_valid_to     timestamp without time zone,
            dbt_is_deleted   text
        )
        """
    )
    op.execute(
        "create index supplier_item_prices_item_idx"
        " on snapshots.supplier_item_prices (supplier_item_id, dbt_valid_from desc)"
    )
    op.execute(
        "create index supplier_item_prices_valid_from_idx"
        " on snapshots.supplier_item_prices (dbt_valid_from desc)"
    )
    # The incremental marts' progress: the newest parsed row each has taken. Kept apart from
    # the rows, so deleting a supplier's items does not make the next run take them again.
    op.execute(
        """
        create table marts.load_watermarks (
            model     text primary key,
            parsed_at timestamptz not null
        )
        """
    )
    _copy_dbt_built()


def _keep_dbt_built(schema: str, table: str) -> None:
    """Move a table dbt built before this migration aside; _copy_dbt_built takes its rows."""
    op.execute(
        f"""
        do $$ declare idx text; begin
            if to_regclass('{schema}.{table}') is not null then
                alter table {schema}.{table} rename to {table}_before_0004;
                -- its indexes keep their names, which the new table's would clash with
                for idx in
                    select indexname from pg_indexes
                    where schemaname = '{schema}' and tablename = '{table}_before_0004'
                loop
                    execute format(
                        'alter index {schema}.%I rename to %I', idx, left(idx, 40) || '_before_0004'
                    );
                end loop;
            end if;
        end $$
        """
    )


def _copy_dbt_built() -> None:
    op.execute(
        f"""
        do $$ begin
            if to_regclass('marts.supplier_items_before_0004') is not null then
                insert into marts.suppliers (supplier_code, first_seen_at)
                select supplier_code, min(first_seen_at)
                from marts.supplier_items_before_0004 group by supplier_code;

                insert into marts.supplier_items (
                    supplier_item_id, supplier_id, supplier_code, supplier_sku, name, currency,
                    price, characteristics, first_seen_at, last_seen_at, last_task_id,
                    last_sheet, last_row_number, last_submitted_at, source_parsed_at)
                select old.supplier_item_id, s.supplier_id, old.supplier_code, old.supplier_sku,
                    old.name, old.currency, old.price, old.characteristics, old.first_seen_at,
                    old.last_seen_at, old.last_task_id, old.last_sheet, old.last_row_number,
                    old.last_submitted_at, old.source_parsed_at
                from marts.supplier_items_before_0004 as old
                inner join marts.suppliers as s using (supplier_code);

                insert into marts.load_watermarks (model, parsed_at)
                select 'supplier_items', max(source_parsed_at)
                from marts.supplier_items_before_0004
                having max(source_parsed_at) is not null;

                drop table marts.supplier_items_before_0004 cascade;
            end if;
            if to_regclass('snapshots.supplier_item_prices_before_0004') is not null then
                insert into snapshots.supplier_item_prices
                select md5(old.supplier_code || '|' || old.supplier_sku), {SNAPSHOT_COLUMNS}
                from snapshots.supplier_item_prices_before_0004 as old
                where exists (
                    select from marts.supplier_items as items
                    where items.supplier_code = old.supplier_code
                        and items.supplier_sku = old.supplier_sku
                );
                drop table snapshots.supplier_item_prices_before_0004 cascade;
            end if;
        end $$
        """
    )


def downgrade() -> None:
    # The price history is the one thing dbt cannot rebuild from raw: it stays, without its link
    # (dbt rebuilds the catalogue and the view on its next run).
    op.execute("drop view if exists marts.price_history")
    op.execute(
        "alter table snapshots.supplier_item_prices"
        " drop constraint supplier_item_prices_supplier_item_id_fkey,"
        " drop column supplier_item_id"
    )
    op.execute("drop table marts.load_watermarks")
    op.execute("drop table marts.supplier_items")
    op.execute("drop table marts.products")
    op.execute("drop table marts.categories")
    op.execute("drop table marts.suppliers")
    op.execute("drop type marts.product_status")
