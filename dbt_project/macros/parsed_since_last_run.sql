{#- Incremental filter of the marts: rows of int_price_rows__parsed parsed after the newest
    source row this model has already taken (`source_parsed_at`). dbt runs are serialised by the
    loader's advisory lock, so parse times only grow; a run that failed before a mart was built
    leaves the mart's watermark behind, and the next run picks those rows up. -#}
{% macro parsed_since_last_run(parsed_at_column) -%}
    {%- if is_incremental() -%}
        {{ parsed_at_column }} > (
            select coalesce(max(source_parsed_at), '-infinity'::timestamptz) from {{ this }}
        )
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}
