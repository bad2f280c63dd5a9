{#- The time dbt stamps on snapshot changes: the received time of the list being snapshotted
    (the one row of raw.history_loads the loader has begun and not finished), so price_history
    says when a price was observed, not when dbt ran; now() when no list is in progress (a
    `dbt build` by hand or in CI). Read from the table, not passed as a var: a var that changes
    on every run would make dbt re-parse the whole project every time. -#}
{% macro postgres__snapshot_get_time() -%}
    coalesce(
        (
            select received_at at time zone 'UTC'
            from {{ source('raw', 'history_loads') }}
            where snapshotted_at is null and not superseded
            order by submitted_at, load_id
            limit 1
        ),
        {{ current_timestamp() }}::timestamp without time zone
    )
{%- endmacro %}
