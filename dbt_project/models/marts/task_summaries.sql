{{
    config(
        materialized='incremental',
        unique_key='task_id',
        incremental_strategy='merge',
        post_hook="{{ enforce_table_rules(['task_id'], checks={
            'task_summaries_every_row_counted':
                'rows_landed = items_accepted + rows_rejected + rows_skipped'}) }}",
    )
}}

-- One row per processed task: how many rows landed and where each of them ended up.
-- The accounting invariant rows_landed = items_accepted + rows_rejected + rows_skipped is a test.

with

parsed_rows as (

    select * from {{ ref('int_price_rows__parsed') }}

),

new_rows as (

    select parsed_rows.*
    from parsed_rows
    where {{ parsed_since_last_run('parsed_rows.parsed_at') }}

),

latest_load as (

    -- A retried task may have landed twice; its latest complete landing is the one that counts.
    select
        new_rows.*,
        dense_rank() over (partition by new_rows.task_id order by new_rows.load_id desc) as load_rank
    from new_rows

),

final as (

    select
        -- ids
        task_id,
        max(supplier_code) as supplier_code,
        max(load_id) as load_id,

        -- counts
        count(*) as rows_landed,
        count(*) filter (where outcome = 'accepted') as items_accepted,
        count(*) filter (where outcome = 'rejected') as rows_rejected,
        count(*) filter (where outcome = 'skipped') as rows_skipped,
        count(*) filter (
            where outcome = 'accepted' and cardinality(failed_rules) > 0
        ) as rows_warned,

        -- timestamps
        max(received_at) as received_at,
        max(parsed_at) as source_parsed_at
    from latest_load
    where load_rank = 1
    group by task_id

)

select * from final
