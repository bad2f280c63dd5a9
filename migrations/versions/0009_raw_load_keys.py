"""One row per load package in raw._dlt_loads and one task row per landing in raw.task_loads,
held by the database.

dbt tested both (the unique tests of stg_raw__loads and stg_raw__task_loads) in every task's
build, a node each; with the database refusing a second row, a task's build leaves those tests
out (tag enforced_by_database; CI and a build by hand still run them). raw.task_loads' unique
index replaces its plain index on the load id (0001).

Revision ID: 0009
Revises: 0008
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("alter table raw._dlt_loads add constraint _dlt_loads_load_id_key unique (load_id)")
    op.execute(
        "alter table raw.task_loads add constraint task_loads_load_id_key unique (_dlt_load_id)"
    )
    op.execute("drop index raw.task_loads_load_id_idx")


def downgrade() -> None:
    op.execute("create index if not exists task_loads_load_id_idx on raw.task_loads (_dlt_load_id)")
    op.execute("alter table raw.task_loads drop constraint if exists task_loads_load_id_key")
    op.execute("alter table raw._dlt_loads drop constraint if exists _dlt_loads_load_id_key")
