{{
    config(
        materialized='incremental',
        unique_key=['task_id', 'sheet', 'row_number', 'rule_code'],
        incremental_strategy='merge',
        merge_exclude_columns=['parsing_log_id', 'logged_at'],
        indexes=[{'columns': ['task_id']}, {'columns': ['logged_at']}],
        meta={'latest_run_column': 'logged_at'},
        post_hook=[
            "{{ advance_watermark('parsing_logs') }}",
            "{{ enforce_table_rules(['parsing_log_id'],
                not_null=['task_id', 'rule_code', 'severity', 'message'],
                checks={'parsing_logs_severity_check': \"severity in ('error', 'warn')\"}) }}",
        ],
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
        and cardinality(parsed_rows.failed_rules) > 0
        -- A retried task may have landed twice before one run took both landings (its worker
        -- died after landing): only its latest complete landing is logged, as task_summaries
        -- counts it; both would insert the same key in one merge. Checked on the failing rows
        -- only, in the small load tables: a second scan of the new rows cost seconds at 1M.
        and not exists (
            select 1
            from {{ source('raw', 'task_loads') }} as later
            inner join {{ source('raw', '_dlt_loads') }} as later_done
                on later.task_id = parsed_rows.task_id
                and later._dlt_load_id > parsed_rows.load_id
                and later_done.load_id = later._dlt_load_id
                and later_done.status = 0
        )

),

failures as (

    {% for rule in row_rules() %}
    select
        new_rows.*,
        '{{ rule.rule_code }}'::text as failed_rule,
        '{{ rule.rule_severity }}'::text as failed_severity,
        ({{ rule.message }})::text as failure_message,
        ({{ rule.get('column', 'null') }})::text as failure_column,
        ({{ rule.get('value', 'null') }})::text as failure_value
    from new_rows
    where '{{ rule.rule_code }}' = any(new_rows.failed_rules)
    {% if not loop.last %}union all{% endif %}
    {% else %}
    select new_rows.*, null::text as failed_rule, null::text as failed_severity,
        null::text as failure_message, null::text as failure_column, null::text as failure_value
    from new_rows
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
