"""The lists whose prices have entered price_history, in the order they did.

The transform snapshots each waiting list on its own, oldest submission first, stamped with the
time the list was received; this table is its progress record (a row without `snapshotted_at`
is a snapshot that was interrupted and will be run again).

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        create table raw.history_loads (
            load_id        varchar primary key,
            supplier_code  varchar not null,
            submitted_at   timestamp with time zone not null,
            received_at    timestamp with time zone not null,
            superseded     boolean not null default false,
            snapshotted_at timestamp with time zone
        )
        """
    )
    op.execute(
        "create index history_loads_supplier_idx"
        " on raw.history_loads (supplier_code, submitted_at desc, load_id desc)"
    )


def downgrade() -> None:
    op.execute("drop table if exists raw.history_loads")
