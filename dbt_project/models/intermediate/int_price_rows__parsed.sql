{{
    config(
        materialized='incremental',
        unique_key=['load_id', 'sheet', 'row_number'],
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
        indexes=[{'columns': ['load_id']}, {'columns': ['parsed_at']}],
    )
}}

-- Every landed row, once: mapped to the standard fields, parsed, and given exactly one outcome
-- (accepted, rejected with a rule, or skipped as a blank or section row).

with

price_rows as (

    select * from {{ ref('stg_raw__price_rows') }}

),

task_loads as (

    select * from {{ ref('stg_raw__task_loads') }}

),

sheet_columns as (

    select * from {{ ref('stg_raw__sheet_columns') }}

),

{% if is_incremental() %}
parsed_loads as (

    select distinct load_id from {{ this }}

),
{% endif %}

new_rows as (

    select price_rows.*
    from price_rows
    {% if is_incremental() %}
    left join parsed_loads
        on price_rows.load_id = parsed_loads.load_id
    where parsed_loads.load_id is null
    {% endif %}

),

sheet_fields as (

    select
        load_id,
        sheet,
        max(cell_key) filter (where field = 'supplier_sku') as sku_key,
        max(cell_key) filter (where field = 'name') as name_key,
        max(cell_key) filter (where field = 'price') as price_key,
        max(cell_key) filter (where field = 'currency') as currency_key,
        max(header_currency) filter (where field = 'price') as price_header_currency,
        coalesce(
            jsonb_object_agg(cell_key, characteristic_key)
                filter (where characteristic_key is not null),
            '{}'::jsonb
        ) as characteristic_keys,
        coalesce(
            array_agg(cell_key) filter (where is_identity_attribute), '{}'::text[]
        ) as identity_keys
    from sheet_columns
    group by load_id, sheet

),

cell_entries as (

    select
        new_rows.load_id,
        new_rows.sheet,
        new_rows.row_number,
        entry.value as cell,
        sheet_fields.characteristic_keys ->> entry.key as characteristic_key,
        entry.key = any(sheet_fields.identity_keys) as is_identity_attribute
    from new_rows
    inner join sheet_fields
        on new_rows.load_id = sheet_fields.load_id
        and new_rows.sheet = sheet_fields.sheet
    cross join lateral jsonb_each(new_rows.cells) as entry

),

row_cells as (

    select
        load_id,
        sheet,
        row_number,
        count(*) as filled_cells,
        max(cell #>> '{}') as any_value,
        -- Brand, maker's code, barcode, variant, unit: what tells apart items of the same name
        -- in a list without codes. Ordered by key, so moving a column changes nothing.
        string_agg(
            lower(regexp_replace(trim(cell #>> '{}'), '\s+', ' ', 'g')), '|'
            order by characteristic_key
        ) filter (where is_identity_attribute) as identity_text,
        coalesce(
            jsonb_object_agg(characteristic_key, {{ characteristic_value('cell') }})
                filter (where characteristic_key is not null),
            '{}'::jsonb
        ) as characteristics
    from cell_entries
    group by load_id, sheet, row_number

),

mapped as (

    select
        -- ids
        new_rows.load_id,
        new_rows.task_id,
        new_rows.supplier_code,
        new_rows.sheet,
        new_rows.row_number,

        -- mapped text
        nullif(trim(new_rows.cells ->> sheet_fields.sku_key), '') as supplier_sku_text,
        nullif(
            regexp_replace(trim(new_rows.cells ->> sheet_fields.name_key), '\s+', ' ', 'g'), ''
        ) as item_name,
        new_rows.cells -> sheet_fields.price_key as price_cell,
        nullif(trim(new_rows.cells ->> sheet_fields.currency_key), '') as currency_text,

        -- mapping facts
        sheet_fields.sku_key,
        sheet_fields.name_key,
        sheet_fields.price_key,
        sheet_fields.currency_key,
        sheet_fields.sku_key is not null as has_sku_column,
        sheet_fields.price_header_currency,
        task_loads.default_currency,

        -- cell facts
        coalesce(row_cells.filled_cells, 0) as filled_cells,
        row_cells.any_value,
        row_cells.identity_text,
        coalesce(row_cells.characteristics, '{}'::jsonb) as characteristics,

        -- timestamps
        task_loads.received_at,
        task_loads.submitted_at,

        -- raw
        new_rows.cells
    from new_rows
    inner join sheet_fields
        on new_rows.load_id = sheet_fields.load_id
        and new_rows.sheet = sheet_fields.sheet
    inner join task_loads
        on new_rows.load_id = task_loads.load_id
    left join row_cells
        on new_rows.load_id = row_cells.load_id
        and new_rows.sheet = row_cells.sheet
        and new_rows.row_number = row_cells.row_number

),

parsed as (

    select
        mapped.*,
        {{ parse_price('mapped.price_cell') }} as price,
        coalesce(
            {{ normalize_currency('mapped.currency_text') }},
            mapped.price_header_currency,
            {{ currency_in_text("(mapped.price_cell #>> '{}')") }},
            mapped.default_currency
        ) as currency,
        -- A section row: one filled cell, no price (`Саморезы` above the screws, in any column).
        mapped.filled_cells = 1 and mapped.price_cell is null as is_section_row
    from mapped

),

sectioned as (

    select
        parsed.*,
        max(case when parsed.is_section_row then parsed.row_number end) over (
            partition by parsed.load_id, parsed.sheet
            order by parsed.row_number
        ) as section_row_number
    from parsed

),

with_category as (

    select
        sectioned.*,
        trim(sections.any_value) as category,
        coalesce(
            sectioned.supplier_sku_text,
            case
                when not sectioned.has_sku_column and sectioned.item_name is not null
                    then {{ derived_supplier_sku('sectioned.item_name', 'sectioned.identity_text') }}
            end
        ) as supplier_sku
    from sectioned
    left join sectioned as sections
        on sectioned.load_id = sections.load_id
        and sectioned.sheet = sections.sheet
        and sectioned.section_row_number = sections.row_number

),

ruled as (

    select
        with_category.*,
        case
            when filled_cells = 0 then 'blank_row'
            when is_section_row then 'section_row'
            when item_name is null then 'missing_name'
            when has_sku_column and supplier_sku_text is null then 'missing_sku'
            when price_cell is null then 'missing_price'
            when price is null then 'price_unparseable'
            when price <= 0 then 'price_not_positive'
            when currency_text is not null
                and {{ normalize_currency('currency_text') }} is null then 'unknown_currency'
        end as row_rule
    from with_category

),

deduplicated as (

    -- The same code twice in one list: the first row (by sheet, then row number) wins; the
    -- later ones are rejected as duplicate_sku.
    select
        ruled.*,
        case
            when ruled.row_rule is null then row_number() over (
                partition by ruled.load_id, ruled.supplier_sku, ruled.row_rule is null
                order by ruled.sheet, ruled.row_number
            )
        end as sku_occurrence
    from ruled

),

final as (

    select
        -- ids
        load_id,
        task_id,
        supplier_code,
        sheet,
        row_number,
        supplier_sku,

        -- text
        item_name,
        currency,
        category,

        -- numerics
        price,

        -- outcome
        case
            when row_rule in ('blank_row', 'section_row') then 'skipped'
            when row_rule is not null or sku_occurrence > 1 then 'rejected'
            else 'accepted'
        end as outcome,
        coalesce(row_rule, case when sku_occurrence > 1 then 'duplicate_sku' end) as rule_code,
        case
            when row_rule = 'missing_name' then name_key
            when row_rule = 'missing_sku' or sku_occurrence > 1 then sku_key
            when row_rule in ('missing_price', 'price_unparseable', 'price_not_positive') then price_key
            when row_rule = 'unknown_currency' then currency_key
        end as failed_column,
        case
            when row_rule in ('missing_price', 'price_unparseable', 'price_not_positive')
                then price_cell #>> '{}'
            when row_rule = 'unknown_currency' then currency_text
            when sku_occurrence > 1 then supplier_sku
        end as failed_value,

        -- characteristics: unmapped columns plus the category of the section above
        case
            when category is not null and not characteristics ? 'category'
                then characteristics || jsonb_build_object('category', category)
            else characteristics
        end as characteristics,

        -- timestamps
        received_at,
        submitted_at,
        {{ dbt.current_timestamp() }} as parsed_at,

        -- raw
        cells as raw_cells
    from deduplicated

)

select * from final
