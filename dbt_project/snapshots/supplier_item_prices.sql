{% snapshot supplier_item_prices %}

{{
    config(
        target_schema='snapshots',
        unique_key=['supplier_code', 'supplier_sku'],
        strategy='check',
        check_cols=['price', 'currency'],
        updated_at='observed_at',
        hard_deletes='new_record',
        meta={'scoped_by_supplier': true},
        pre_hook="set local enable_seqscan = off; set local enable_nestloop = off",
    )
}}

-- The price of every item in its supplier's latest list. The loader snapshots the waiting lists
-- in submission order, the oldest waiting list of every supplier in one run: only the lists
-- recorded in raw.history_loads so far count, and each row is stamped with the time its
-- supplier's list in progress was received (observed_at, the `updated_at` of the check strategy;
-- see the supplier_snapshot_time macro). So each list's prices enter the history in order, a
-- price that did not change adds no row, and an item missing from its supplier's newer list gets
-- a record with dbt_is_deleted = 'True' (unavailable) until it comes back. With raw.history_loads
-- empty (a first `dbt build` by hand, CI) it snapshots every supplier's latest list, now.
-- A run reads and compares only the suppliers with a list in progress (in_snapshot_scope, on
-- this query and on dbt's comparison with the current history): its cost is those suppliers'
-- items, not the whole catalogue. The planner cannot know how few suppliers that is and reads
-- whole tables; index scans it is, for the snapshot's own transaction (make bench). It also
-- takes each of dbt's CTEs for one row, and joined a supplier's new rows to its current
-- history rows pair by pair: no nested loops here either (10 s for the second of two waves of
-- 10 lists of 500 rows, 0.3 s without). The merge has them back (macros/snapshot_merge.sql).
-- The table is created by the migrations (0004) with a foreign key to supplier_items: deleting
-- a supplier's items deletes their history. Only items in the catalogue are snapshotted, so a
-- deleted supplier's history does not come back from the lists it sent before.

with

task_loads as (

    select * from {{ ref('stg_raw__task_loads') }}

),

lists as (

    -- From the small load tables, never a scan of every parsed row: this query runs once per
    -- list, and the parsed rows grow with every list ever landed (make bench).
    select task_loads.load_id, task_loads.supplier_code, task_loads.submitted_at
    from task_loads
    where (
            task_loads.load_id in (
                select load_id from {{ source('raw', 'history_loads') }} where not superseded
            )
            or not exists (select 1 from {{ source('raw', 'history_loads') }})
        )
        and exists (
            select 1
            from {{ ref('int_price_rows__parsed') }} as parsed
            where parsed.load_id = task_loads.load_id and parsed.outcome = 'accepted'
            -- `offset 0` keeps this a lookup by index for each list: without nested loops
            -- (the pre_hook), a join read every parsed row ever landed.
            offset 0
        )

),

latest_lists as (

    select distinct on (supplier_code)
        supplier_code,
        load_id,
        {{ supplier_snapshot_time('lists.supplier_code') }} as observed_at
    from lists
    where {{ in_snapshot_scope('lists.supplier_code') }}
    order by supplier_code, submitted_at desc, load_id desc

),

catalogue as (

    select supplier_code, supplier_sku
    from {{ ref('supplier_items') }}
    where {{ in_snapshot_scope('supplier_code') }}

),

parsed_rows as (

    -- `= any(array(...))`: an index lookup of the latest lists' rows.
    select *
    from {{ ref('int_price_rows__parsed') }}
    where load_id = any(array(select load_id from latest_lists))
        and outcome = 'accepted'

)

select
    md5(parsed_rows.supplier_code || '|' || parsed_rows.supplier_sku) as supplier_item_id,
    parsed_rows.supplier_code,
    parsed_rows.supplier_sku,
    parsed_rows.price,
    parsed_rows.currency,
    parsed_rows.item_name,
    parsed_rows.task_id,
    parsed_rows.load_id,
    latest_lists.observed_at
from parsed_rows
inner join latest_lists
    on parsed_rows.load_id = latest_lists.load_id
inner join catalogue
    on parsed_rows.supplier_code = catalogue.supplier_code
    and parsed_rows.supplier_sku = catalogue.supplier_sku

{% endsnapshot %}
