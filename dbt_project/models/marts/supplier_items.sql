{{
    config(
        materialized='incremental',
        unique_key=['supplier_code', 'supplier_sku'],
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
        merge_exclude_columns=['supplier_item_id', 'supplier_id', 'first_seen_at'],
        full_refresh=false,
        pre_hook="set local enable_seqscan = off",
        post_hook=[
            "{{ mark_available_items() }}",
            "{{ advance_watermark('supplier_items') }}",
        ],
    )
}}

-- The batch's suppliers are read by index (current_items, mark_available_items), for this
-- model's transaction only: the planner cannot know how few they are, and read the whole
-- catalogue for every list (make bench).

-- The table, its keys, checks and indexes belong to the migrations (0004); dbt merges into it.
-- Columns it does not select (product_id, set by the matching team; is_available, set by the
-- post-hook) keep their values.

-- The current offer of every supplier item: the accepted row of the most recently submitted
-- list for each (supplier, supplier_sku). Rows parsed since this model last ran are merged in.
-- Order is by submission, not by when a worker got to the list: a list submitted earlier but
-- processed later never overwrites a newer one, so parallel workers end in the same state as
-- one worker taking the tasks in order.

with

parsed_rows as (

    select * from {{ ref('int_price_rows__parsed') }}

),

suppliers as (

    select * from {{ ref('suppliers') }}

),

accepted as (

    select parsed_rows.*
    from parsed_rows
    where {{ parsed_since_last_run('parsed_rows.parsed_at', watermark_of='supplier_items') }}
        and parsed_rows.outcome = 'accepted'

),

{% if is_incremental() %}
current_items as (

    -- The items of the batch's suppliers only, by index: the catalogue holds every supplier.
    select supplier_code, supplier_sku, last_submitted_at
    from {{ this }}
    where supplier_code = any(array(select distinct supplier_code from accepted))

),
{% endif %}

latest as (

    select
        accepted.*,
        row_number() over (
            partition by accepted.supplier_code, accepted.supplier_sku
            order by accepted.submitted_at desc, accepted.task_id desc, accepted.load_id desc
        ) as recency
    from accepted

),

final as (

    select
        -- ids
        md5(latest.supplier_code || '|' || latest.supplier_sku) as supplier_item_id,
        suppliers.supplier_id,
        latest.supplier_code,
        latest.supplier_sku,

        -- text
        latest.item_name as name,
        latest.currency,

        -- numerics
        latest.price,

        -- characteristics
        latest.characteristics,

        -- timestamps
        latest.received_at as first_seen_at,
        latest.received_at as last_seen_at,

        -- metadata
        latest.task_id as last_task_id,
        latest.sheet as last_sheet,
        latest.row_number as last_row_number,
        latest.submitted_at as last_submitted_at,
        latest.parsed_at as source_parsed_at
    from latest
    inner join suppliers
        on latest.supplier_code = suppliers.supplier_code
    {% if is_incremental() %}
    left join current_items
        on latest.supplier_code = current_items.supplier_code
        and latest.supplier_sku = current_items.supplier_sku
    {% endif %}
    where latest.recency = 1
    {% if is_incremental() %}
        and (
            current_items.last_submitted_at is null
            or latest.submitted_at >= current_items.last_submitted_at
        )
    {% endif %}

)

select * from final
