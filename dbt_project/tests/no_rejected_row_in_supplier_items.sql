-- Gate: the values of a supplier item never come from a row that was rejected.

select items.supplier_code, items.supplier_sku, items.last_task_id, items.last_row_number
from {{ ref('supplier_items') }} as items
inner join {{ ref('int_price_rows__parsed') }} as parsed
    on items.last_task_id = parsed.task_id
    and items.last_sheet = parsed.sheet
    and items.last_row_number = parsed.row_number
where parsed.outcome <> 'accepted'
    -- The rows of the latest run: items an earlier run wrote were checked by it.
    and {{ latest_run_only('parsed.parsed_at', ref('int_price_rows__parsed'), 'parsed_at') }}
