{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        full_refresh=false,
    )
}}

-- Every supplier whose list reached the catalogue. The table and its identity key belong to the
-- migrations (0004); dbt adds a supplier the first time one of its lists is parsed. Deleting a
-- supplier deletes its items and their price history; it comes back only with a new list.

with

parsed_rows as (

    select * from {{ ref('int_price_rows__parsed') }}

),

task_loads as (

    select * from {{ ref('stg_raw__task_loads') }}

),

new_rows as (

    select parsed_rows.*
    from parsed_rows
    where {{ parsed_since_last_run('parsed_rows.parsed_at', watermark_of='supplier_items') }}

),

first_seen as (

    select supplier_code, min(received_at) as first_seen_at
    from new_rows
    group by supplier_code

),

named as (

    -- The name the supplier's latest task gave, if any.
    select distinct on (supplier_code) supplier_code, supplier_name
    from task_loads
    where supplier_name is not null
    order by supplier_code, submitted_at desc, load_id desc

),

final as (

    select
        first_seen.supplier_code,
        named.supplier_name as name,
        first_seen.first_seen_at
    from first_seen
    left join named
        on first_seen.supplier_code = named.supplier_code
    {% if is_incremental() %}
    where not exists (
        select from {{ this }} as known where known.supplier_code = first_seen.supplier_code
    )
    {% endif %}

)

select * from final
