"""Constants shared across the loader (one place, like rq's defaults.py)."""

QUEUE_NAME = "ingest"

# Queue semantics from DESIGN.md: 3 retries at 1 s, 5 s, 25 s for retriable errors.
RETRY_INTERVALS = [1, 5, 25]
# dbt runs inside the job; RQ's 180 s default is too short for big lists.
RESULT_TTL_S = 7 * 24 * 3600
FAILURE_TTL_S = 365 * 24 * 3600

# Header detection looks at this many rows at the top of each sheet.
HEADER_SCAN_ROWS = 30
# Advisory-lock key that serialises dbt write commands across all workers of one database.
TRANSFORM_LOCK_KEY = 7_301_994_211

RAW_SCHEMA = "raw"
ROWS_TABLE = "price_rows"
TASKS_TABLE = "task_loads"

# Local services used by `make demo` / `make test` when no URLs are configured.
LOCAL_STATE_DIR = ".local"
LOCAL_DB_NAME = "marketbel"
LOCAL_DB_USER = "marketbel"
LOCAL_DB_PASSWORD = "marketbel"  # noqa: S105 - local throwaway server on a unix socket

# Database roles (migration 0005). The worker logs in once and acts as the least it needs for
# each step: landing as LOADER_ROLE (writes raw only), dbt as TRANSFORM_ROLE. Analysts and
# read-only tools use ANALYST_ROLE. The role that runs the migrations owns the schema.
LOADER_ROLE = "marketbel_loader"
TRANSFORM_ROLE = "marketbel_transform"
ANALYST_ROLE = "marketbel_analyst"
