"""What keeps a task's dbt work proportional to its own list, and that nothing is lost by it:
the data tests of the growing tables check the latest run (an audit checks every row), the tests
left out of a task's build are enforced by the database, and the worker's warm-up."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import psycopg
import pytest
import structlog
from dbt_common.clients import jinja

from loader import config, landing, migrate, transform, worker
from loader.config import Settings
from loader.db import DbParams
from loader.exceptions import TransformError
from loader.jobs import run_task
from loader.task import ParseTask
from tests.helpers import write_csv

# A row parsed twice: the uniqueness the database does not enforce (that index would cost
# every big list), so the task's build and an audit test it.
CORRUPT_OLDEST_ROW = """
    insert into staging.int_price_rows__parsed
    select * from staging.int_price_rows__parsed where task_id = %s and row_number = 2
"""


def _list(tmp: Path, task_id: str, supplier: str) -> ParseTask:
    path = write_csv(
        tmp / f"{task_id}.csv",
        ["Артикул;Наименование;Цена", "A-1;Болт;100", "A-2;Гайка;12,50"],
    )
    return ParseTask.parse({
        "task_id": task_id,
        "supplier": {"code": supplier, "default_currency": "RUB"},
        "source": {"type": "csv", "path": str(path)},
    })  # fmt: skip


@pytest.fixture
def database(fresh_database: str, tmp_path: Path) -> tuple[str, Settings]:
    migrate.upgrade(fresh_database)
    return fresh_database, Settings(database_url=fresh_database, local_state_dir=tmp_path / "st")


def test_a_task_checks_its_own_rows_and_an_audit_checks_every_row(
    database: tuple[str, Settings], tmp_path: Path
) -> None:
    url, settings = database
    assert run_task(_list(tmp_path, "old", "s1"), url, settings).status == "success"
    with psycopg.connect(DbParams.from_url(url).conninfo(), autocommit=True) as conn:
        assert conn.execute(CORRUPT_OLDEST_ROW, ("old",)).rowcount == 1

    # A later list is checked on its own rows, so the earlier run's row does not fail it...
    assert run_task(_list(tmp_path, "new", "s2"), url, settings).status == "success"
    # ...while an audit of every row finds it, by the test's name.
    with pytest.raises(TransformError, match="unique_int_price_rows__parsed"):
        audit = ["test", "--select", "int_price_rows__parsed", "--vars", "{check_every_row: true}"]
        transform.run_dbt(url, settings, audit)

    # The latest run's rows are always checked.
    with psycopg.connect(DbParams.from_url(url).conninfo(), autocommit=True) as conn:
        assert conn.execute(CORRUPT_OLDEST_ROW, ("new",)).rowcount == 1
    with pytest.raises(TransformError, match="unique_int_price_rows__parsed"):
        transform.run_dbt(url, settings, ["test", "--select", "int_price_rows__parsed"])


# Where the tested models' rows live: price_history is a view of the snapshot table, the
# staging models are views of dlt's tables.
TABLES = {
    "suppliers": ("marts.suppliers", {}),
    "supplier_items": ("marts.supplier_items", {}),
    "int_price_rows__parsed": ("staging.int_price_rows__parsed", {}),
    "task_summaries": ("marts.task_summaries", {}),
    "parsing_logs": ("marts.parsing_logs", {}),
    "stg_raw__loads": ("raw._dlt_loads", {}),
    "stg_raw__task_loads": ("raw.task_loads", {"load_id": "_dlt_load_id"}),
    "price_history": (
        "snapshots.supplier_item_prices",
        {
            "valid_from": "dbt_valid_from",
            "valid_to": "dbt_valid_to",
            "price_history_id": "dbt_scd_id",
        },
    ),
}


def _rules(conn: psycopg.Connection, table: str) -> set[str]:
    rows = conn.execute(
        "select pg_get_constraintdef(oid) from pg_constraint where conrelid = %s::regclass",
        (table,),
    ).fetchall()
    return {d for (d,) in rows}


def _plain(sql: str) -> str:
    """An expression as the catalogue and a test can both be compared: `price > 0` reads
    `CHECK ((price > (0)::numeric))` in pg_constraint. Without casts and parentheses."""
    sql = re.sub(r"::(character varying|[a-z_]+)(\[\])?", "", sql.lower())
    return " ".join(sql.replace("(", "").replace(")", "").split())


def test_the_tests_a_task_leaves_out_are_enforced_by_the_database(
    database: tuple[str, Settings], tmp_path: Path
) -> None:
    """Every test tagged enforced_by_database names a constraint the database holds, made by
    the migrations or, for a table dbt creates, by its post-hook (enforce_table_rules): the
    database refuses the row the test would find."""
    url, settings = database
    assert run_task(_list(tmp_path, "t-1", "s1"), url, settings).status == "success"
    manifest = transform.run_dbt(url, settings, ["parse"])
    left_out = [
        node
        for node in manifest.nodes.values()
        if node.resource_type == "test" and "enforced_by_database" in node.tags
    ]
    assert {n.attached_node.split(".")[-1] for n in left_out} == set(TABLES)
    with psycopg.connect(DbParams.from_url(url).conninfo()) as conn:
        for test in left_out:
            table, renamed = TABLES[test.attached_node.split(".")[-1]]
            kind = test.test_metadata.name
            arguments = test.test_metadata.kwargs
            text = test.column_name or arguments.get("column_name") or arguments["expression"]
            for name, column in renamed.items():
                text = re.sub(rf"\b{name}\b", column, text)
            definitions = [d.lower() for d in _rules(conn, table)]
            if kind == "not_null":
                not_null = conn.execute(
                    "select attnotnull from pg_attribute where attrelid = %s::regclass"
                    " and attname = %s",
                    (table, text),
                ).fetchone()
                assert not_null == (True,), test.name
            elif kind == "unique":
                columns = ", ".join(c.strip() for c in text.split("|| '|' ||"))
                assert {f"unique ({columns})", f"primary key ({columns})"} & set(definitions), (
                    test.name,
                    definitions,
                )
            elif kind == "relationships":
                assert any(d.startswith(f"foreign key ({text})") for d in definitions)
            elif kind == "expression_is_true":
                expression = arguments["expression"]
                for name, column in renamed.items():
                    expression = re.sub(rf"\b{name}\b", column, expression)
                assert f"check {_plain(expression)}" in map(_plain, definitions), (
                    test.name,
                    definitions,
                )
            elif kind == "accepted_values":
                # `outcome in (...)` reads `CHECK (outcome = ANY (ARRAY[...]))` in the catalogue
                values = [f"'{v}'" for v in arguments["values"]]
                found = [d for d in definitions if _plain(d).startswith(f"check {text} = any")]
                assert any(all(v in d for v in values) for d in found), (test.name, definitions)
            else:
                pytest.fail(f"{test.name}: no rule for a {kind} test")


def test_the_tables_dbt_creates_get_their_rules_back_and_refuse_what_the_tests_would_find(
    database: tuple[str, Settings], tmp_path: Path
) -> None:
    """A full refresh creates task_summaries anew, and a database built before the rules
    existed lacks them: the next build adds them. Then a row their tests would find is refused,
    in each table that has them."""
    url, settings = database
    assert run_task(_list(tmp_path, "r-1", "s1"), url, settings).status == "success"
    with psycopg.connect(DbParams.from_url(url).conninfo(), autocommit=True) as conn:
        rules = _rules(conn, "marts.task_summaries")
        assert "PRIMARY KEY (task_id)" in rules
        conn.execute("alter table marts.parsing_logs drop constraint parsing_logs_pkey")
        conn.execute("alter table marts.parsing_logs alter column message drop not null")

    transform.run_dbt(url, settings, ["run", "--select", "task_summaries", "--full-refresh"])
    assert run_task(_list(tmp_path, "r-2", "s1"), url, settings).status == "success"

    with psycopg.connect(DbParams.from_url(url).conninfo(), autocommit=True) as conn:
        assert _rules(conn, "marts.task_summaries") == rules
        assert "PRIMARY KEY (parsing_log_id)" in _rules(conn, "marts.parsing_logs")
        with pytest.raises(psycopg.errors.NotNullViolation):
            conn.execute(
                "insert into marts.parsing_logs (parsing_log_id, task_id, rule_code, severity)"
                " values ('x', 'r-2', 'missing_name', 'error')"
            )
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("insert into marts.task_summaries select * from marts.task_summaries")
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("update marts.task_summaries set rows_skipped = rows_skipped + 1")
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(
                "update staging.int_price_rows__parsed set rule_code = 'missing_name'"
                " where outcome = 'accepted'"
            )


def test_the_landing_warm_up_loads_nothing_and_leaves_nothing(tmp_path: Path) -> None:
    landing.warm_up(tmp_path)  # its credentials point at no database: a load would fail
    assert list(tmp_path.iterdir()) == []


def test_landing_does_not_warn_that_cells_arrive_as_json_text(tmp_path: Path) -> None:
    """dlt warned on every landing that the json `cells` column came as Arrow text, which is by
    design: a warning on every task hides the ones that matter."""
    warnings: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = warnings.append  # type: ignore[method-assign]
    logging.getLogger("dlt").addHandler(handler)
    try:
        landing.warm_up(tmp_path)  # extracts and normalizes a list as a task does
    finally:
        logging.getLogger("dlt").removeHandler(handler)
    assert [w.getMessage() for w in warnings] == []


def test_a_failed_warm_up_only_warns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: tuple[str, Settings]
) -> None:
    _, settings = database
    broken = settings.model_copy(
        update={"dbt_project_dir": tmp_path / "no-such-project", "work_dir": tmp_path / "work"}
    )
    monkeypatch.setattr(config, "get_settings", lambda: broken)
    with structlog.testing.capture_logs() as logs:
        worker.warm_up()  # returns: the worker goes on, and its tasks report the real error
    failed = [entry for entry in logs if entry["event"] == "warm_up_failed"]
    assert len(failed) == 1 and "no-such-project" in failed[0]["error"]


def test_the_row_rule_tests_a_task_leaves_out_find_only_what_parsing_logs_holds(
    database: tuple[str, Settings], tmp_path: Path
) -> None:
    """A task's build leaves the row rules' tests out: each would report exactly the rows that
    parsing_logs already holds for its rule."""
    url, settings = database
    path = write_csv(
        tmp_path / "rules.csv",
        ["Артикул;Наименование;Цена", "A-1;Болт;100", "A-2;;12,50", "A-3;Шайба;по запросу",
         ";Винт;5", "A-1;Болт;101"],
    )  # fmt: skip
    task = ParseTask.parse({
        "task_id": "rules", "supplier": {"code": "s1", "default_currency": "RUB"},
        "source": {"type": "csv", "path": str(path)},
    })  # fmt: skip
    assert run_task(task, url, settings).status == "partial_success"

    result = transform.run_dbt(url, settings, ["test", "--select", "test_name:row_rule"])
    found = {
        r.node.test_metadata.kwargs["rule_code"]: r.failures for r in result.results if r.failures
    }
    with psycopg.connect(DbParams.from_url(url).conninfo()) as conn:
        logged = dict(
            conn.execute(
                "select rule_code, count(*) from marts.parsing_logs where task_id = 'rules'"
                " group by rule_code"
            ).fetchall()
        )
    assert found == logged
    assert {"missing_name", "price_unparseable", "missing_sku"} <= set(found)


def _view_oid(url: str, view: str) -> int | None:
    with psycopg.connect(DbParams.from_url(url).conninfo()) as conn:
        row = conn.execute("select to_regclass(%s)::oid", (view,)).fetchone()
    return None if row is None else row[0]


def test_a_worker_builds_the_views_and_compiles_the_macros_once_for_its_tasks(
    database: tuple[str, Settings], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, settings = database
    monkeypatch.setattr(transform, "_views_built", None)  # restored after the test
    jinja.template_cache.clear()  # as in a new worker
    transform.parse_project(url, settings)
    monkeypatch.setattr(transform, "_parsed", transform._parsed)
    assert transform.build_views(url, settings)
    view = "staging.stg_raw__loads"
    built = _view_oid(url, view)
    assert built is not None

    # A task's build compiles no macro: the warm-up compiled every one its build calls.
    compiled: list[str] = []
    compile_template = jinja.get_template

    def counting(string: str, ctx: dict[str, Any], node: Any = None, **kwargs: Any) -> Any:
        if getattr(node, "resource_type", None) == "macro":
            compiled.append(node.name)
        return compile_template(string, ctx, node, **kwargs)

    monkeypatch.setattr(jinja, "get_template", counting)
    # A task's build leaves the views as they are, and still runs the tests on them.
    assert run_task(_list(tmp_path, "t1", "s1"), url, settings).status == "success"
    assert compiled == []
    assert _view_oid(url, view) == built
    listed = transform.run_dbt(
        url, settings, ["ls", *transform._task_build(url, settings)[2:], "--output", "name"]
    )
    assert "stg_raw__sheet_columns" not in listed and "int_price_rows__parsed" in listed
    assert "accepted_values_stg_raw__sheet_columns_field__supplier_sku__name__price__currency" in (
        listed
    )

    # A view dropped behind the worker's back (a migration rolled back): the next task's
    # build creates it again.
    with psycopg.connect(DbParams.from_url(url).conninfo(), autocommit=True) as conn:
        conn.execute(f"drop view {view} cascade")  # and the views built on it
    assert run_task(_list(tmp_path, "t2", "s2"), url, settings).status == "success"
    assert _view_oid(url, view) is not None


def test_dbt_sessions_run_without_jit_and_keep_an_operators_options(
    database: tuple[str, Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A JIT-enabled server compiled the snapshot's queries for seconds each (their cost is
    high by `enable_seqscan = off`): the worker's dbt connections turn JIT off."""
    url, settings = database
    monkeypatch.setenv("PGOPTIONS", "-c statement_timeout=600000")

    def setting_in_dbt(name: str) -> str:
        shown = transform.run_dbt(
            url, settings, ["show", "--inline", f"select current_setting('{name}') as value"]
        )
        return str(shown.results[0].agate_table.rows[0]["value"])

    assert setting_in_dbt("jit") == "off"
    assert setting_in_dbt("statement_timeout") == "10min"
