with

price_rows as (

    select * from {{ source('raw', 'price_rows') }}

),

complete_loads as (

    select * from {{ ref('stg_raw__loads') }}

),

final as (

    select
        -- ids
        price_rows._dlt_load_id as load_id,
        price_rows.task_id,
        price_rows.supplier_code,
        price_rows.sheet,
        price_rows.row_number,

        -- cells
        price_rows.cells
    from price_rows
    inner join complete_loads
        on price_rows._dlt_load_id = complete_loads.load_id

)

select * from final
