{{
    config(
        materialized='incremental',
        unique_key=['task_id', 'sheet', 'row_number', 'rule_code'],
        incremental_strategy='merge',
        merge_exclude_columns=['parsing_log_id', 'logged_at'],
        indexes=[{'columns': ['task_id']}, {'columns': ['logged_at']}],
        meta={'latest_run_column': 'logged_at'},
        post_hook="{{ advance_watermark('parsing_logs') }}",
    )
}}

-- Its progress is a watermark in load_watermarks, not its newest row: a run of clean lists logs
-- nothing, and the newest logged row would then fall further behind with every list, each run
-- reading every row parsed since the last failure.

-- One row per row rule a landed row broke: errors (the row was rejected) and warnings (the row
-- was accepted). The rules, their messages and offending columns come from the row_rule tests
-- declared on int_price_rows__parsed. Append-only in effect: a re-processed task logs nothing
-- twice (the key is task, sheet, row and rule), and nothing is ever deleted.

with

parsed_rows as (

    select * from {{ ref('int_price_rows__parsed') }}

),

new_rows as (

    select parsed_rows.*
    from parsed_rows
    where {{ parsed_since_last_run('parsed_rows.parsed_at', watermark_of='parsing_logs') }}

),

latest_landings as (

    -- A retried task may have landed twice before one run took both landings (its worker died
    -- after landing): its latest landing is the one logged, as task_summaries counts it. Both
    -- would otherwise insert the same key in one merge.
    -- Its own scan, of two columns: a CTE read twice would be materialised, every wide row.
    select landed.task_id, max(landed.load_id) as load_id
    from {{ ref('int_price_rows__parsed') }} as landed
    where {{ parsed_since_last_run('landed.parsed_at', watermark_of='parsing_logs') }}
    group by landed.task_id

),

failing_rows as (

    select new_rows.*
    from new_rows
    inner join latest_landings
        on new_rows.task_id = latest_landings.task_id
        and new_rows.load_id = latest_landings.load_id
    where cardinality(new_rows.failed_rules) > 0

),

failures as (

    {% for rule in row_rules() %}
    select
        failing_rows.*,
        '{{ rule.rule_code }}'::text as failed_rule,
        '{{ rule.rule_severity }}'::text as failed_severity,
        ({{ rule.message }})::text as failure_message,
        ({{ rule.get('column', 'null') }})::text as failure_column,
        ({{ rule.get('value', 'null') }})::text as failure_value
    from failing_rows
    where '{{ rule.rule_code }}' = any(failing_rows.failed_rules)
    {% if not loop.last %}union all{% endif %}
    {% else %}
    select failing_rows.*, null::text as failed_rule, null::text as failed_severity,
        null::text as failure_message, null::text as failure_column, null::text as failure_value
    from failing_rows
    where false
    {% endfor %}

),

final as (

    select
        -- ids
        md5(task_id || '|' || sheet || '|' || row_number || '|' || failed_rule) as parsing_log_id,
        task_id,
        supplier_code,
        sheet,
        row_number,

        -- what went wrong
        failed_rule as rule_code,
        failed_severity as severity,
        failure_message as message,
        failure_column as column_key,
        failure_value as raw_value,
        raw_cells as raw_row,

        -- timestamps
        {{ dbt.current_timestamp() }} as logged_at,

        -- metadata
        load_id,
        parsed_at as source_parsed_at
    from failures

)

select * from final
