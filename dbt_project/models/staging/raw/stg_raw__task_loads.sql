with

task_loads as (

    select * from {{ source('raw', 'task_loads') }}

),

complete_loads as (

    select * from {{ ref('stg_raw__loads') }}

),

final as (

    select
        -- ids
        task_loads._dlt_load_id as load_id,
        task_loads.task_id,
        task_loads.supplier_code,

        -- text
        task_loads.supplier_name,
        upper(task_loads.default_currency) as default_currency,
        task_loads.source_type,
        task_loads.source_ref,

        -- numerics
        task_loads.row_count,

        -- timestamps
        task_loads.submitted_at,
        task_loads.received_at,

        -- metadata
        task_loads.sheets
    from task_loads
    inner join complete_loads
        on task_loads._dlt_load_id = complete_loads.load_id

)

select * from final
