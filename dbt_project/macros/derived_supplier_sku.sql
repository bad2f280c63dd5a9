{#- The key of an item from a list with no code column: `~` and the first 16 hex digits of the
    md5 of its normalised name (lower case, single spaces), followed by its identity attributes
    (brand, maker's code, barcode, variant, unit; see loader.mapping) when it has any.
    Deterministic, independent of row order and of other items; the `~` keeps it apart from any
    real supplier code. -#}
{% macro derived_supplier_sku(name_expr, identity_expr='null') -%}
    '~' || left(md5(
        lower(regexp_replace(trim({{ name_expr }}), '\s+', ' ', 'g'))
        || coalesce('|' || {{ identity_expr }}, '')
    ), 16)
{%- endmacro %}
