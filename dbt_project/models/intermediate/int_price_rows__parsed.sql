{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['load_id']},
            {'columns': ['parsed_at']},
            {'columns': ['supplier_code', 'supplier_sku']},
        ],
        pre_hook="set local enable_nestloop = off",
        post_hook="{{ enforce_table_rules(not_null=['load_id', 'outcome'], checks={
            'int_price_rows__parsed_outcome_check':
                \"outcome in ('accepted', 'rejected', 'skipped')\",
            'int_price_rows__parsed_accepted_check':
                \"outcome <> 'accepted' or (price > 0 and item_name is not null and supplier_sku is not null)\",
            'int_price_rows__parsed_rule_check': \"(outcome = 'accepted') = (rule_code is null)\",
        }) }}",
        meta={'latest_run_column': 'parsed_at'},
    )
}}

-- Append, not merge: a run takes whole loads that have no parsed row yet (new_loads), so a row
-- is never there already, and a merge would look up every row ever parsed for nothing.

-- The planner cannot estimate the rows of the CTEs below (it guesses 1) and would join them in
-- nested loops, quadratic in the list's rows: 10,000 rows took a minute. Hash joins it is, for
-- this model's transaction only (make bench, docs/performance.md).

-- Every landed row, once: mapped to the standard fields, parsed, checked against every row_rule
-- declared in _intermediate__models.yml, and given exactly one outcome: accepted (possibly with
-- warnings), rejected (an error rule failed) or skipped (a blank or section row).

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

new_loads as (

    -- Complete loads this model has not parsed yet, from the small load table with one index
    -- probe each (a scalar subquery, which enable_nestloop does not turn into a hash join over
    -- every parsed row): a run costs its new rows, not every row ever landed.
    select loads.load_id
    from {{ ref('stg_raw__loads') }} as loads
    {% if is_incremental() %}
    where (
        select 1 from {{ this }} as parsed where parsed.load_id = loads.load_id limit 1
    ) is null
    {% endif %}

),

new_rows as (

    select price_rows.*
    from price_rows
    where price_rows.load_id = any(array(select load_id from new_loads))

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
        row_cells.filled_cells,
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
    -- Each row's cells, aggregated row by row (a lateral subquery): grouping every cell of the
    -- batch instead sorted all of them, 2.5 s of 8.7 s for 100,000 rows (make bench).
    cross join lateral (
        select
            count(*) as filled_cells,
            max(entry.value #>> '{}') as any_value,
            -- Brand, maker's code, barcode, variant, unit: what tells apart items of the same
            -- name in a list without codes. Ordered by key, so moving a column changes nothing.
            string_agg(
                lower(regexp_replace(trim(entry.value #>> '{}'), '\s+', ' ', 'g')), '|'
                order by sheet_fields.characteristic_keys ->> entry.key
            ) filter (where entry.key = any(sheet_fields.identity_keys)) as identity_text,
            jsonb_object_agg(
                sheet_fields.characteristic_keys ->> entry.key,
                {{ characteristic_value('entry.value') }}
            ) filter (
                where sheet_fields.characteristic_keys ->> entry.key is not null
            ) as characteristics
        from jsonb_each(new_rows.cells) as entry
    ) as row_cells

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

checked as (

    select
        with_category.*,
        with_category.price_cell #>> '{}' as price_text,
        {{ normalize_currency('with_category.currency_text') }} as currency_from_text,
        case
            when with_category.filled_cells = 0 then 'blank_row'
            when with_category.is_section_row then 'section_row'
        end as skip_reason
    from with_category

),

row_checked as (

    -- Rules of scope `row` (declared as row_rule tests in _intermediate__models.yml).
    select
        checked.*,
        case
            when checked.skip_reason is null then {{ failed_rule_codes('row') }}
            else '{}'::text[]
        end as row_failures
    from checked

),

occurrences as (

    -- The same code twice in one list: among rows that pass the row rules, the first (by sheet,
    -- then row number) is occurrence 1; the rule `duplicate_sku` rejects the later ones.
    select
        row_checked.*,
        case
            when row_checked.skip_reason is null
                and not row_checked.row_failures && {{ error_rule_codes() }}
                then row_number() over (
                    partition by
                        row_checked.load_id,
                        row_checked.supplier_sku,
                        row_checked.skip_reason is null
                        and not row_checked.row_failures && {{ error_rule_codes() }}
                    order by row_checked.sheet, row_checked.row_number
                )
        end as sku_occurrence
    from row_checked

),

list_checked as (

    select
        occurrences.*,
        occurrences.row_failures || case
            when occurrences.skip_reason is null then {{ failed_rule_codes('list') }}
            else '{}'::text[]
        end as list_failures
    from occurrences

),

batch_accepted as (

    select
        supplier_code, supplier_sku, submitted_at, load_id, sheet, row_number, price, currency,
        true as is_new
    from list_checked
    where skip_reason is null and not list_failures && {{ error_rule_codes() }}

),

{% if is_incremental() %}
earlier_accepted as (

    -- Only the items of this batch: the history of everything else is not needed.
    select
        parsed.supplier_code, parsed.supplier_sku, parsed.submitted_at, parsed.load_id,
        parsed.sheet, parsed.row_number, parsed.price, parsed.currency,
        false as is_new
    from {{ this }} as parsed
    inner join (select distinct supplier_code, supplier_sku from batch_accepted) as items
        on parsed.supplier_code = items.supplier_code
        and parsed.supplier_sku = items.supplier_sku
    where parsed.outcome = 'accepted'
        -- The batch's suppliers, by index: without it the hash join reads every row ever
        -- parsed, for each list.
        and parsed.supplier_code = any(array(select distinct supplier_code from batch_accepted))

),
{% endif %}

price_series as (

    -- The item's previous accepted price, in the order the lists were submitted.
    select
        series.*,
        lag(series.price) over item_history as previous_price,
        lag(series.currency) over item_history as previous_currency
    from (
        select * from batch_accepted
        {% if is_incremental() %}
        union all
        select * from earlier_accepted
        {% endif %}
    ) as series
    window item_history as (
        partition by series.supplier_code, series.supplier_sku
        order by series.submitted_at, series.load_id, series.sheet, series.row_number
    )

),

with_history as (

    select
        list_checked.*,
        price_series.previous_price,
        price_series.previous_currency
    from list_checked
    left join price_series
        on price_series.is_new
        and list_checked.load_id = price_series.load_id
        and list_checked.sheet = price_series.sheet
        and list_checked.row_number = price_series.row_number

),

history_checked as (

    -- Rules of scope `history` (price anomalies) compare an accepted row with the item's
    -- previous price; they warn and never reject.
    select
        with_history.*,
        with_history.list_failures || case
            when with_history.previous_price is not null then {{ failed_rule_codes('history') }}
            else '{}'::text[]
        end as failed_rules
    from with_history

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
        supplier_sku_text,
        price_text,
        currency_text,
        currency_from_text,

        -- numerics
        price,
        sku_occurrence,
        previous_price,
        previous_currency,

        -- outcome
        case
            when skip_reason is not null then 'skipped'
            when failed_rules && {{ error_rule_codes() }} then 'rejected'
            else 'accepted'
        end as outcome,
        coalesce(
            skip_reason,
            (
                select min(code) from unnest(failed_rules) as code
                where code = any({{ error_rule_codes() }})
            )
        ) as rule_code,
        failed_rules,

        -- mapping facts, for the log
        has_sku_column,
        sku_key,
        name_key,
        price_key,
        currency_key,

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
    from history_checked

)

select * from final
