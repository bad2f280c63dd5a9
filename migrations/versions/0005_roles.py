"""Least-privilege roles: loader (writes raw only), transform (dbt), analyst (reads the marts).

The role that runs the migrations owns every schema and migration-made table (the migration
role). The three roles here cannot log in; a login is made a member of the ones it needs and
switches to one per step (`SET ROLE`, done by the loader for each connection):

- marketbel_loader: lands rows in `raw` (dlt) and keeps the mapping memory and task results.
  It cannot read or change anything outside `raw`.
- marketbel_transform: dbt. Reads `raw`, records history progress in raw.history_loads, owns
  what dbt builds in `staging`, `marts` and `snapshots`, and writes the migration-owned serving
  tables (it cannot drop or alter them).
- marketbel_analyst: reads `marts`, nothing else.

Roles belong to the whole server, not to one database: they are created when missing and
left in place on downgrade while another database still uses them.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

LOADER = "marketbel_loader"
TRANSFORM = "marketbel_transform"
ANALYST = "marketbel_analyst"
ROLES = (LOADER, TRANSFORM, ANALYST)

# Migration-owned tables dbt writes into.
SERVING_WRITTEN_BY_DBT = (
    "marts.suppliers",
    "marts.supplier_items",
    "marts.load_watermarks",
    "snapshots.supplier_item_prices",
)
# Migration-owned tables people maintain; dbt and analysts read them.
SERVING_READ_BY_DBT = ("marts.categories", "marts.products")
MIGRATION_OWNED = SERVING_WRITTEN_BY_DBT + SERVING_READ_BY_DBT


def upgrade() -> None:
    for role in ROLES:
        op.execute(
            f"do $$ begin if not exists (select from pg_roles where rolname = '{role}') then"
            f" create role {role} nologin; end if; end $$"
        )
        # The migration role may act as each (needed to hand dbt its objects below); a worker's
        # login is granted the roles it uses in the same way.
        op.execute(f"grant {role} to current_user")
        op.execute(f"revoke all on database {_database()} from {role}")
        op.execute(f"grant connect, temporary on database {_database()} to {role}")

    # loader: raw only
    op.execute(f"grant usage, create on schema raw to {LOADER}")
    op.execute(f"grant select, insert, update, delete on all tables in schema raw to {LOADER}")
    op.execute(f"grant usage on all sequences in schema raw to {LOADER}")
    op.execute(f"revoke insert, update, delete on raw.history_loads from {LOADER}")
    op.execute(
        f"alter default privileges for role {LOADER} in schema raw"
        f" grant select on tables to {TRANSFORM}"
    )

    # transform: reads raw, builds the rest
    op.execute(f"grant usage on schema raw to {TRANSFORM}")
    op.execute(f"grant select on all tables in schema raw to {TRANSFORM}")
    op.execute(f"grant insert, update on raw.history_loads to {TRANSFORM}")
    for schema in ("staging", "marts", "snapshots"):
        op.execute(f"grant usage, create on schema {schema} to {TRANSFORM}")
        _hand_dbt_objects_to_transform(schema)
    for table in SERVING_WRITTEN_BY_DBT:
        op.execute(f"grant select, insert, update, delete on {table} to {TRANSFORM}")
    for table in SERVING_READ_BY_DBT:
        op.execute(f"grant select on {table} to {TRANSFORM}")

    # analyst: reads marts, including what dbt makes there later
    op.execute(f"grant usage on schema marts to {ANALYST}")
    op.execute(f"grant select on all tables in schema marts to {ANALYST}")
    op.execute(
        f"alter default privileges for role {TRANSFORM} in schema marts"
        f" grant select on tables to {ANALYST}"
    )


def _database() -> str:
    return op.get_bind().exec_driver_sql("select quote_ident(current_database())").scalar()


def _hand_dbt_objects_to_transform(schema: str) -> None:
    """Tables and views dbt built before this migration become the transform role's, so that
    dbt, now running as that role, can replace them."""
    owned = ", ".join(f"'{name}'" for name in MIGRATION_OWNED)
    op.execute(
        f"""
        do $$ declare rel record; begin
            for rel in
                select c.relkind, format('%I.%I', n.nspname, c.relname) as name
                from pg_class c join pg_namespace n on n.oid = c.relnamespace
                where n.nspname = '{schema}' and c.relkind in ('r', 'v', 'm')
                    and format('%s.%s', n.nspname, c.relname) not in ({owned})
            loop
                execute format(
                    'alter %s %s owner to {TRANSFORM}',
                    case rel.relkind when 'v' then 'view' when 'm' then 'materialized view'
                        else 'table' end,
                    rel.name
                );
            end loop;
        end $$
        """
    )


def downgrade() -> None:
    op.execute(
        f"alter default privileges for role {TRANSFORM} in schema marts"
        f" revoke select on tables from {ANALYST}"
    )
    op.execute(
        f"alter default privileges for role {LOADER} in schema raw"
        f" revoke select on tables from {TRANSFORM}"
    )
    for role in ROLES:
        # What the role owns here (dbt's objects) goes back to the migration role; its grants
        # in this database go.
        _retried_when_concurrent(f"reassign owned by {role} to current_user")
        _retried_when_concurrent(f"drop owned by {role}")
        op.execute(
            f"do $$ begin drop role {role}; exception when dependent_objects_still_exist"
            f" then raise notice 'role {role} is still used by another database'; end $$"
        )


def _retried_when_concurrent(statement: str) -> None:
    """Run a statement about a role's objects again when PostgreSQL reports `tuple concurrently
    deleted`: roles belong to the whole server, and a database dropped or migrated at the same
    moment changes the shared records the statement walks (seen in CI, with two test processes).
    Each try is a subtransaction; a later try sees what the other session committed."""
    op.execute(
        f"""
        do $$ begin
            for attempt in 1..5 loop
                begin
                    execute '{statement}';
                    exit;
                exception when internal_error then
                    if attempt = 5 or sqlerrm not like '%concurrently%' then raise; end if;
                    perform pg_sleep(0.2 * attempt);
                end;
            end loop;
        end $$
        """
    )
