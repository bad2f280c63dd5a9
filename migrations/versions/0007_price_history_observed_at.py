"""Each price-history row carries the time its list was received (`observed_at`), so one
snapshot run can take the lists of several suppliers, each stamped with its own time.

dbt's check strategy stamps a run's changes with one time for the whole run (its
`snapshot_get_time`), which made the loader snapshot waiting lists one run each. With a per-row
time (the snapshot's `updated_at` config) a run takes the oldest waiting list of every
supplier at once. Existing rows get their list's received time. The partial index finds the
list a supplier has in progress, for the time of its deletion records.

And a partial index on the task results that wait for another task's dbt run (`transforming`,
see loader.handover): every task looks for them when its own run is over.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("alter table snapshots.supplier_item_prices add column observed_at timestamp")
    op.execute(
        """
        update snapshots.supplier_item_prices as prices
        set observed_at = loads.received_at at time zone 'UTC'
        from raw.task_loads as loads
        where loads._dlt_load_id = prices.load_id
        """
    )
    op.execute(
        "create index history_loads_in_progress_idx on raw.history_loads (supplier_code)"
        " where snapshotted_at is null and not superseded"
    )
    op.execute(
        "create index task_results_transforming_idx on raw.task_results (task_id)"
        " where status = 'transforming'"
    )


def downgrade() -> None:
    op.execute("drop index if exists raw.task_results_transforming_idx")
    op.execute("drop index if exists raw.history_loads_in_progress_idx")
    op.execute("alter table snapshots.supplier_item_prices drop column if exists observed_at")
