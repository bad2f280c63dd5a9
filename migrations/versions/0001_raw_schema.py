"""raw schema: landed rows and one row per landed task (written by the loader through dlt).

The tables are created here, with the column types dlt would choose, so that indexes and
ownership are ours; dlt appends to them and adds its own `_dlt_*` bookkeeping tables.

Revision ID: 0001
Revises:
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("create schema if not exists raw")
    op.execute(
        """
        create table raw.task_loads (
            task_id          varchar not null,
            supplier_code    varchar not null,
            supplier_name    varchar,
            default_currency varchar,
            source_type      varchar not null,
            source_ref       varchar not null,
            submitted_at     timestamp with time zone not null,
            received_at      timestamp with time zone not null,
            row_count        bigint not null,
            sheets           jsonb not null,
            _dlt_load_id     varchar not null,
            _dlt_id          varchar not null unique
        )
        """
    )
    op.execute(
        """
        create table raw.price_rows (
            task_id          varchar not null,
            supplier_code    varchar not null,
            sheet            varchar not null,
            row_number       bigint not null,
            cells            jsonb not null,
            _dlt_load_id     varchar not null,
            _dlt_id          varchar not null unique
        )
        """
    )
    # dlt's completion record, created here (with dlt's own column types) so that the dbt
    # models, which read only completed loads, build on a database where nothing landed yet.
    op.execute(
        """
        create table raw._dlt_loads (
            load_id             varchar(64) not null,
            schema_name         varchar,
            status              bigint not null,
            inserted_at         timestamp with time zone not null,
            schema_version_hash varchar
        )
        """
    )
    # dlt's schema-version record, created here too: concurrent first landings would otherwise
    # race to create it and all but one fail.
    op.execute(
        """
        create table raw._dlt_version (
            version        bigint not null,
            engine_version bigint not null,
            inserted_at    timestamp with time zone not null,
            schema_name    varchar not null,
            version_hash   varchar not null,
            schema         varchar not null
        )
        """
    )
    op.execute("create index task_loads_task_id_idx on raw.task_loads (task_id)")
    op.execute("create index task_loads_load_id_idx on raw.task_loads (_dlt_load_id)")
    op.execute("create index price_rows_load_id_idx on raw.price_rows (_dlt_load_id)")


def downgrade() -> None:
    op.execute("drop table if exists raw.price_rows")
    op.execute("drop table if exists raw.task_loads")
    op.execute("drop table if exists raw._dlt_loads")
    op.execute("drop table if exists raw._dlt_version")
    # dlt's own bookkeeping tables live in raw too; they go with the schema.
    op.execute("drop schema if exists raw cascade")
