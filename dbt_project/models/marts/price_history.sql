{{ config(materialized='view') }}

-- Every price a supplier item had, with when it held: one row per change, from the snapshot.
-- valid_from is when the list carrying the price was received; valid_to is when a newer list
-- changed it (null while it is current). A row with is_available false is a period in which the
-- item was missing from its supplier's latest list.

with

snapshot as (

    select * from {{ ref('supplier_item_prices') }}

),

final as (

    select
        -- ids
        supplier_item_id,
        supplier_code,
        supplier_sku,

        -- the price
        price,
        currency,
        coalesce(dbt_is_deleted, 'False') <> 'True' as is_available,

        -- validity
        dbt_valid_from at time zone 'UTC' as valid_from,
        dbt_valid_to at time zone 'UTC' as valid_to,
        dbt_valid_to is null as is_current,

        -- where it came from
        item_name,
        task_id,
        load_id,
        dbt_scd_id as price_history_id
    from snapshot

)

select * from final
