{#- Text of a price cell reduced to sign, digits and separators:
    spaces (also NBSP, thin and narrow spaces) and apostrophes go, then any currency text before
    the first digit or after the last one (`$12.50`, `1 165,00р.`, `12,50 руб.`). -#}
{% macro clean_number_text(text_expr) -%}
    regexp_replace(
        regexp_replace({{ text_expr }}, '[\s\u00a0\u2007\u2009\u202f'']+', '', 'g'),
        '^[^0-9-]+|[^0-9]+$', '', 'g'
    )
{%- endmacro %}
