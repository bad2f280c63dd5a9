"""The price history's own rules as constraints: one period per item and start time, a period
never ends before it starts, every period has a start.

dbt tests said the same after each snapshot, by reading the whole history; with the database
refusing such a row, a task's dbt build leaves those tests out (they stay for CI and audits),
and its cost no longer grows with the history. The unique index also serves the lookups of an
item's periods.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        alter table snapshots.supplier_item_prices
            alter column dbt_valid_from set not null,
            add constraint supplier_item_prices_period_key
                unique (supplier_code, supplier_sku, dbt_valid_from),
            add constraint supplier_item_prices_period_check
                check (dbt_valid_to is null or dbt_valid_to >= dbt_valid_from)
        """
    )


def downgrade() -> None:
    op.execute(
        """
        alter table snapshots.supplier_item_prices
            drop constraint if exists supplier_item_prices_period_check,
            drop constraint if exists supplier_item_prices_period_key,
            alter column dbt_valid_from drop not null
        """
    )
