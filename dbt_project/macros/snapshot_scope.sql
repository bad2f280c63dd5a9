{#- The suppliers a price-history snapshot run is about: those with a list in progress (the rows
    of raw.history_loads the loader has begun and not finished), or every supplier when none is
    (a `dbt build` by hand, CI). The snapshot reads only their rows, and compares only their
    current history rows: dbt otherwise compares the whole catalogue for every list, which made
    each list cost 1.3 s per 100,000 items in the catalogue (make bench, docs/performance.md). -#}
{% macro in_snapshot_scope(supplier_column) -%}
    {#- `= any(array(...))`, one array computed once: the planner then reads the suppliers'
        rows by index, where `in (...) or not exists (...)` read the whole table. -#}
    {{ supplier_column }} = any(array(
        select supplier_code from {{ source('raw', 'history_loads') }}
        where snapshotted_at is null and not superseded
        union
        select supplier_code from {{ source('raw', 'task_loads') }}
        where not exists (
            select 1 from {{ source('raw', 'history_loads') }}
            where snapshotted_at is null and not superseded
        )
    ))
{%- endmacro %}

{#- dbt's staging query of a snapshot, with its current history rows limited to the same scope
    as the snapshot's own query when the snapshot asks for it (`meta: {scoped_by_supplier:
    true}`): a row outside the scope is neither compared nor taken for deleted. dbt has no
    setting for this, so the filter goes into its CTE `snapshotted_data`; a dbt whose staging
    query does not have that CTE stops the run instead of snapshotting the wrong rows. -#}
{% macro postgres__snapshot_staging_table(strategy, source_sql, target_relation) -%}
    {%- set staging = default__snapshot_staging_table(strategy, source_sql, target_relation) -%}
    {%- if not (config.get('meta') or {}).get('scoped_by_supplier') -%}
        {{ return(staging) }}
    {%- endif -%}
    {%- set re = modules.re -%}
    {%- set pattern = '(snapshotted_data as \\(\\s*select \\*, .*?\\s+from '
        ~ re.escape(target_relation | string) ~ '\\s+where)' -%}
    {%- set scoped = re.subn(pattern, '\\1 ' ~ in_snapshot_scope('supplier_code') ~ ' and',
        staging, count=1, flags=re.DOTALL) -%}
    {%- if scoped[1] != 1 -%}
        {{ exceptions.raise_compiler_error(
            "supplier_item_prices: dbt's snapshot staging query has no snapshotted_data CTE"
            ~ " to scope; see macros/snapshot_scope.sql") }}
    {%- endif -%}
    {{ return(scoped[0]) }}
{%- endmacro %}
