-- Gate: every rejected row has an error in parsing_logs, and every error in parsing_logs belongs
-- to a rejected row. Fails with the rows where the routing and the outcome disagree.

with

rejected as (

    select distinct task_id, sheet, row_number
    from {{ ref('int_price_rows__parsed') }}
    where outcome = 'rejected'
        -- The latest run's rows (parsing_logs keeps the parse time of each row it logs).
        and {{ latest_run_only('parsed_at', ref('int_price_rows__parsed')) }}

),

logged as (

    select distinct task_id, sheet, row_number
    from {{ ref('parsing_logs') }}
    where severity = 'error'
        and {{ latest_run_only('source_parsed_at', ref('int_price_rows__parsed'), 'parsed_at') }}

)

select coalesce(rejected.task_id, logged.task_id) as task_id,
    coalesce(rejected.sheet, logged.sheet) as sheet,
    coalesce(rejected.row_number, logged.row_number) as row_number,
    case when logged.task_id is null then 'rejected but not logged' else 'logged but not rejected' end
        as problem
from rejected
full outer join logged
    on rejected.task_id = logged.task_id
    and rejected.sheet = logged.sheet
    and rejected.row_number = logged.row_number
where rejected.task_id is null or logged.task_id is null
