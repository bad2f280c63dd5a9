{% snapshot supplier_item_prices %}

{{
    config(
        target_schema='snapshots',
        unique_key=['supplier_code', 'supplier_sku'],
        strategy='check',
        check_cols=['price', 'currency'],
        hard_deletes='new_record',
    )
}}

-- The price of every item in its supplier's latest list. Run by the loader once per list, oldest
-- submission first: only the lists recorded in raw.history_loads so far count, and dbt's
-- snapshot time is when the list in progress was received (see the snapshot_get_time macro).
-- So each list's prices enter the history in order, a price that did not change adds no row,
-- and an item missing from its supplier's newer list gets a record with dbt_is_deleted = 'True'
-- (unavailable) until it comes back. With raw.history_loads empty (a first `dbt build` by hand,
-- CI) it snapshots every supplier's latest list, now.
-- The table is created by the migrations (0004) with a foreign key to supplier_items: deleting
-- a supplier's items deletes their history. Only items in the catalogue are snapshotted, so a
-- deleted supplier's history does not come back from the lists it sent before.

with

parsed_rows as (

    select * from {{ ref('int_price_rows__parsed') }}

),

lists as (

    select load_id, supplier_code, min(submitted_at) as submitted_at
    from parsed_rows
    where outcome = 'accepted'
        and (
            load_id in (
                select load_id from {{ source('raw', 'history_loads') }} where not superseded
            )
            or not exists (select 1 from {{ source('raw', 'history_loads') }})
        )
    group by load_id, supplier_code

),

catalogue as (

    select supplier_code, supplier_sku from {{ ref('supplier_items') }}

),

latest_lists as (

    select distinct on (supplier_code) supplier_code, load_id
    from lists
    order by supplier_code, submitted_at desc, load_id desc

)

select
    md5(parsed_rows.supplier_code || '|' || parsed_rows.supplier_sku) as supplier_item_id,
    parsed_rows.supplier_code,
    parsed_rows.supplier_sku,
    parsed_rows.price,
    parsed_rows.currency,
    parsed_rows.item_name,
    parsed_rows.task_id,
    parsed_rows.load_id
from parsed_rows
inner join latest_lists
    on parsed_rows.supplier_code = latest_lists.supplier_code
    and parsed_rows.load_id = latest_lists.load_id
inner join catalogue
    on parsed_rows.supplier_code = catalogue.supplier_code
    and parsed_rows.supplier_sku = catalogue.supplier_sku
where parsed_rows.outcome = 'accepted'

{% endsnapshot %}
