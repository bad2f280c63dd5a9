{#- Incremental filter of the marts: rows of int_price_rows__parsed parsed after the newest
    source row this model (or `watermark_of`) has already taken. The catalogue keeps its
    progress in marts.load_watermarks (see advance_watermark), apart from its rows, so that
    deleting a supplier's items does not make the next run take them again; so does
    parsing_logs, whose newest row falls behind while lists are clean. The other marts read the
    newest `source_parsed_at` they hold (every list gives them a row). dbt runs are serialised by the loader's
    advisory lock, so parse times only grow; a run that failed before a mart was built leaves
    the mart's watermark behind, and the next run picks those rows up. -#}
{% macro parsed_since_last_run(parsed_at_column, watermark_of=none) -%}
    {%- if is_incremental() and watermark_of -%}
        {{ parsed_at_column }} > (
            select coalesce(max(parsed_at), '-infinity'::timestamptz)
            from {{ source('marts', 'load_watermarks') }}
            where model = '{{ watermark_of }}'
        )
    {%- elif is_incremental() -%}
        {{ parsed_at_column }} > (
            select coalesce(max(source_parsed_at), '-infinity'::timestamptz) from {{ this }}
        )
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- Post-hook of a mart filtered by its watermark: record the newest parsed row it has now
    taken. Runs in the model's transaction, so the rows and the watermark move together. -#}
{% macro advance_watermark(model_name) -%}
    insert into {{ source('marts', 'load_watermarks') }} (model, parsed_at)
    select '{{ model_name }}', max(parsed_at) from {{ ref('int_price_rows__parsed') }}
    having max(parsed_at) is not null
    on conflict (model) do update set parsed_at = greatest(
        {{ source('marts', 'load_watermarks') }}.parsed_at, excluded.parsed_at
    )
{%- endmacro %}
