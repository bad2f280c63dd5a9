-- One row per column of every landed sheet, from the mapping the loader computed.
with

task_loads as (

    select * from {{ ref('stg_raw__task_loads') }}

),

sheets as (

    select
        task_loads.load_id,
        task_loads.task_id,
        sheet.value as sheet_doc
    from task_loads
    cross join lateral jsonb_array_elements(task_loads.sheets) as sheet

),

final as (

    select
        -- ids
        sheets.load_id,
        sheets.task_id,
        sheets.sheet_doc ->> 'sheet' as sheet,
        (col.value ->> 'index')::int as column_index,

        -- text
        col.value ->> 'letter' as column_letter,
        col.value ->> 'header' as header,
        col.value ->> 'key' as cell_key,
        col.value ->> 'field' as field,
        col.value ->> 'characteristic_key' as characteristic_key,
        col.value ->> 'reason' as reason,
        col.value ->> 'currency' as header_currency,
        col.value ->> 'unit' as unit,

        -- flags
        coalesce((col.value ->> 'identity')::boolean, false) as is_identity_attribute,

        -- numerics
        (col.value ->> 'score')::numeric as score,
        (sheets.sheet_doc ->> 'header_row')::int as header_row
    from sheets
    cross join lateral jsonb_array_elements(sheets.sheet_doc -> 'columns') as col

)

select * from final
