{#- The time a price-history snapshot stamps on a supplier's changes: the observed time of the
    supplier's list being snapshotted (its row of raw.history_loads the loader has begun and not
    finished; its received time, unless it completed landing out of order), so price_history
    says when a price was observed, not when dbt ran; now, in UTC, when the supplier has no list
    in progress (a `dbt build` by hand or in CI). Per supplier, not per run: one run snapshots
    the waiting lists of several suppliers (loader.transform).
    Read from the table, not passed as a var: a var that changes on every run would make dbt
    re-parse the whole project every time. -#}
{% macro supplier_snapshot_time(supplier_column) -%}
    coalesce(
        (
            select coalesce(in_progress.observed_at, in_progress.received_at) at time zone 'UTC'
            from {{ source('raw', 'history_loads') }} as in_progress
            where in_progress.supplier_code = {{ supplier_column }}
                and in_progress.snapshotted_at is null
                and not in_progress.superseded
            order by in_progress.submitted_at, in_progress.load_id
            limit 1
        ),
        now() at time zone 'UTC'
    )
{%- endmacro %}
