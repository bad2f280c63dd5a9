{{
    config(
        materialized='incremental',
        unique_key=['task_id', 'sheet', 'row_number', 'rule_code'],
        incremental_strategy='merge',
        merge_exclude_columns=['parsing_log_id', 'logged_at'],
        indexes=[{'columns': ['task_id']}, {'columns': ['logged_at']}],
    )
}}

-- Every landed row that did not become a supplier item, with the rule it broke. Append-only in
-- effect: a row is logged once per rule, and re-processing the same task does not log it again.

with

parsed_rows as (

    select * from {{ ref('int_price_rows__parsed') }}

),

rejected as (

    select parsed_rows.*
    from parsed_rows
    where {{ parsed_since_last_run('parsed_rows.parsed_at') }}
        and parsed_rows.outcome = 'rejected'

),

final as (

    select
        -- ids
        md5(task_id || '|' || sheet || '|' || row_number || '|' || rule_code) as parsing_log_id,
        task_id,
        supplier_code,
        sheet,
        row_number,

        -- what went wrong
        rule_code,
        'error' as severity,
        case rule_code
            when 'missing_name' then 'the item has no name'
            when 'missing_sku' then 'the item has no code, but the list has a code column'
            when 'missing_price' then 'the item has no price'
            when 'price_unparseable' then format('price %L is not a number', failed_value)
            when 'price_not_positive' then format('price %s is not above zero', failed_value)
            when 'unknown_currency' then format('currency %L is not a known currency', failed_value)
            when 'duplicate_sku' then format('code %L already appeared earlier in this list', failed_value)
        end as message,
        failed_column as column_key,
        failed_value as raw_value,
        raw_cells as raw_row,

        -- timestamps
        {{ dbt.current_timestamp() }} as logged_at,

        -- metadata
        load_id,
        parsed_at as source_parsed_at
    from rejected

)

select * from final
