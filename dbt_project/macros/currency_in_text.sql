{#- The currency a price text carries (`$12.50`, `1 165,00р.`, `12,50 руб.`), or null. -#}
{% macro currency_in_text(text_expr) -%}
    {{ normalize_currency("nullif(regexp_replace(" ~ text_expr ~ ", '[0-9\\s\\u00a0\\u2009\\u202f.,''-]', '', 'g'), '')") }}
{%- endmacro %}
