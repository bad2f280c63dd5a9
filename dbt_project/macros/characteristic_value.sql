{#- A characteristic cell (jsonb) as stored in `characteristics`: plain numbers become JSON
    numbers (`10`, `2,5`, `3 590`); other text is trimmed. Codes stay text: a leading zero or
    more than 15 digits keeps the value a string, so `0123` and EANs are never altered. -#}
{% macro characteristic_value(cell_expr) -%}
    {%- set text = "regexp_replace(trim(" ~ cell_expr ~ " #>> '{}'), '(\\d)[ \\u00a0\\u202f\\u2009](?=\\d{3}(\\D|$))', '\\1', 'g')" -%}
    case
        when jsonb_typeof({{ cell_expr }}) = 'string'
            and {{ text }} ~ '^-?(0|[1-9][0-9]{0,14})([.,][0-9]+)?$'
            then to_jsonb(replace({{ text }}, ',', '.')::numeric)
        when jsonb_typeof({{ cell_expr }}) = 'string'
            then to_jsonb(trim({{ cell_expr }} #>> '{}'))
        else {{ cell_expr }}
    end
{%- endmacro %}
