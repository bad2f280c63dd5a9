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

{#- dbt's snapshot staging query, scoped to the suppliers in progress when the snapshot asks for
    it (`meta: {scoped_by_supplier: true}`):
    - its current history rows (CTE `snapshotted_data`) are limited to in_snapshot_scope, so a
      row outside the scope is neither compared nor taken for deleted;
    - its deletion records are stamped with their supplier's list time (supplier_snapshot_time)
      instead of dbt's one time for the run (`snapshot_get_time`); inserts and updates take the
      query's own per-row time through the `updated_at` config.
    dbt has no setting for either. A dbt whose staging query no longer has what is rewritten
    stops the run instead of snapshotting the wrong rows or times. -#}
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
    {#- After `deletes as (`, dbt's run time appears only in the deletion CTEs, which read
        `snapshotted_data` (the source query, with its own times, comes before). -#}
    {%- set run_time = snapshot_get_time() | trim -%}
    {%- set at = scoped[0].find('deletes as (') -%}
    {%- if strategy.hard_deletes not in ('invalidate', 'new_record') -%}
        {{ return(scoped[0]) }}
    {%- endif -%}
    {%- if at < 0 or run_time not in scoped[0][at:] -%}
        {{ exceptions.raise_compiler_error(
            "supplier_item_prices: dbt's snapshot staging query has no deletion records stamped"
            ~ " with the run's time to re-stamp; see macros/snapshot_scope.sql") }}
    {%- endif -%}
    {{ return(scoped[0][:at] ~ scoped[0][at:].replace(
        run_time, supplier_snapshot_time('snapshotted_data.supplier_code'))) }}
{%- endmacro %}
