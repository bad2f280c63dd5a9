"""Per-supplier mapping memory, saved overrides, mapping changes, and task results.

All in `raw`: the loader writes them (it may write nothing else).

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        create table raw.supplier_mappings (
            supplier_code varchar not null,
            fingerprint   varchar not null,
            sheet         varchar not null,
            has_header    boolean not null,
            headers       jsonb not null,
            fields        jsonb not null,
            first_task_id varchar not null,
            last_task_id  varchar not null,
            created_at    timestamp with time zone not null default now(),
            updated_at    timestamp with time zone not null default now(),
            primary key (supplier_code, fingerprint)
        )
        """
    )
    op.execute(
        """
        create table raw.supplier_overrides (
            supplier_code varchar not null,
            header        varchar not null,
            target        varchar not null,
            updated_at    timestamp with time zone not null default now(),
            primary key (supplier_code, header)
        )
        """
    )
    op.execute(
        """
        create table raw.mapping_changes (
            id               bigserial primary key,
            task_id          varchar not null,
            supplier_code    varchar not null,
            sheet            varchar not null,
            kind             varchar not null,
            detail           varchar not null,
            from_fingerprint varchar not null,
            to_fingerprint   varchar not null,
            detected_at      timestamp with time zone not null default now(),
            unique (task_id, sheet, kind, detail)
        )
        """
    )
    op.execute(
        "create index mapping_changes_supplier_idx"
        " on raw.mapping_changes (supplier_code, detected_at desc)"
    )
    op.execute(
        """
        create table raw.task_results (
            task_id       varchar primary key,
            supplier_code varchar not null,
            status        varchar not null,
            result        jsonb not null,
            finished_at   timestamp with time zone not null default now()
        )
        """
    )
    op.execute("create index task_results_finished_idx on raw.task_results (finished_at desc)")


def downgrade() -> None:
    op.execute("drop table if exists raw.task_results")
    op.execute("drop table if exists raw.mapping_changes")
    op.execute("drop table if exists raw.supplier_overrides")
    op.execute("drop table if exists raw.supplier_mappings")
