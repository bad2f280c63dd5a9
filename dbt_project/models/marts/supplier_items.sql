{{
    config(
        materialized='incremental',
        unique_key=['supplier_code', 'supplier_sku'],
        incremental_strategy='merge',
        merge_exclude_columns=['supplier_item_id', 'first_seen_at'],
        indexes=[
            {'columns': ['supplier_code', 'supplier_sku'], 'unique': true},
            {'columns': ['characteristics'], 'type': 'gin'},
        ],
    )
}}

-- The current offer of every supplier item: the latest accepted row for each
-- (supplier, supplier_sku). Rows parsed since this model last ran are merged in; when several
-- new lists of one supplier carry the same item, the most recently received one wins.

with

parsed_rows as (

    select * from {{ ref('int_price_rows__parsed') }}

),

accepted as (

    select parsed_rows.*
    from parsed_rows
    where {{ parsed_since_last_run('parsed_rows.parsed_at') }}
        and parsed_rows.outcome = 'accepted'

),

latest as (

    select
        accepted.*,
        row_number() over (
            partition by accepted.supplier_code, accepted.supplier_sku
            order by accepted.received_at desc, accepted.load_id desc
        ) as recency
    from accepted

),

final as (

    select
        -- ids
        md5(supplier_code || '|' || supplier_sku) as supplier_item_id,
        supplier_code,
        supplier_sku,

        -- text
        item_name as name,
        currency,

        -- numerics
        price,

        -- characteristics
        characteristics,

        -- timestamps
        received_at as first_seen_at,
        received_at as last_seen_at,

        -- metadata
        task_id as last_task_id,
        sheet as last_sheet,
        row_number as last_row_number,
        parsed_at as source_parsed_at
    from latest
    where recency = 1

)

select * from final
