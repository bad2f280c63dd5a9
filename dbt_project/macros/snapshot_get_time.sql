{#- The time dbt stamps on snapshot changes. The loader passes the time the list was received
    (var snapshot_as_of, UTC), so price_history says when a price was observed, not when dbt
    happened to run; without the var it is now, as in dbt. -#}
{% macro postgres__snapshot_get_time() -%}
    {%- if var('snapshot_as_of', none) -%}
        '{{ var("snapshot_as_of") }}'::timestamp without time zone
    {%- else -%}
        {{ current_timestamp() }}::timestamp without time zone
    {%- endif -%}
{%- endmacro %}
