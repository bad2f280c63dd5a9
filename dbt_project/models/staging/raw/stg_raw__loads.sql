-- Load packages that dlt completed; nothing else is visible downstream.
with

loads as (

    select * from {{ source('raw', '_dlt_loads') }}

),

final as (

    select
        load_id,
        inserted_at as load_completed_at
    from loads
    where status = 0

)

select * from final
