{#- dbt's snapshot merge for PostgreSQL, with nested-loop joins allowed again. The snapshot's
    pre_hook turns them off for its staging query, whose CTEs the planner takes for one row
    each: it joined a supplier's new rows to its current history rows pair by pair (10.8 s
    for the second of two waves of 10 lists of 500 rows; 0.3 s without nested loops). The
    merge looks the staged changes up in the history's index, a nested loop at its best. -#}
{% macro postgres__snapshot_merge_sql(target, source, insert_cols) -%}
    set local enable_nestloop = on;
    {{ dbt.postgres__snapshot_merge_sql(target, source, insert_cols) }}
{%- endmacro %}
