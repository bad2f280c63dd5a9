{#- Post-hook of supplier_items: an item is available while its supplier's latest list (the
    newest submission that reached the catalogue) carries it. An item missing from that list is
    kept, unavailable, with its last price; it becomes available again when a list carries it.
    Only the suppliers of this run's rows are looked at (the hook runs before the watermark
    moves), so a list costs its supplier's items, not the whole catalogue. -#}
{% macro mark_available_items() -%}
    {%- set run_suppliers -%}
        any(array(
            select distinct parsed.supplier_code
            from {{ ref('int_price_rows__parsed') }} as parsed
            where {{ parsed_since_last_run('parsed.parsed_at', watermark_of='supplier_items') }}
        ))
    {%- endset -%}
    update {{ this }} as items
    set is_available = (items.last_task_id = latest.last_task_id)
    from (
        select distinct on (supplier_id) supplier_id, last_task_id
        from {{ this }}
        where supplier_code = {{ run_suppliers }}
        order by supplier_id, last_submitted_at desc, last_task_id desc
    ) as latest
    where items.supplier_code = {{ run_suppliers }}
        and items.supplier_id = latest.supplier_id
        and items.is_available is distinct from (items.last_task_id = latest.last_task_id)
{%- endmacro %}
