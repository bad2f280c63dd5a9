{#- A characteristic cell (jsonb) as stored in `characteristics`: plain numbers become JSON
    numbers (`10`, `2,5`); text is trimmed. Codes stay text: a leading zero or more than 15
    digits keeps the value a string, so `0123` and EANs are never altered. -#}
{% macro characteristic_value(cell_expr) -%}
    case
        when jsonb_typeof({{ cell_expr }}) = 'string'
            and trim({{ cell_expr }} #>> '{}') ~ '^-?(0|[1-9][0-9]{0,14})([.,][0-9]+)?$'
            then to_jsonb(replace(trim({{ cell_expr }} #>> '{}'), ',', '.')::numeric)
        when jsonb_typeof({{ cell_expr }}) = 'string'
            then to_jsonb(trim({{ cell_expr }} #>> '{}'))
        else {{ cell_expr }}
    end
{%- endmacro %}
