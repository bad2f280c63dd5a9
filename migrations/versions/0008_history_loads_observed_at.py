"""The time each list's prices are stamped with in the history (`observed_at`), kept apart
from the time the list was received.

A list is stamped received when its landing begins, and enters the history once its landing
is complete. Two workers landing a supplier's two lists at once can complete them out of
order: the newer list, stamped first, completes after the older one has entered the history.
Stamped with its received time, its periods would begin before the older list's and end them
before they began (the database refuses that since 0006, so the task failed). Such a list is
stamped just after its supplier's latest list in the history instead (loader.transform);
every other list with its received time, as before. Null is the received time: the rows
written before this revision, and by a worker still running the previous code while it is
deployed (a not-null column would fail its tasks).

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("alter table raw.history_loads add column observed_at timestamp with time zone")


def downgrade() -> None:
    op.execute("alter table raw.history_loads drop column if exists observed_at")
