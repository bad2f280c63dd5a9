{#- A price cell (jsonb) to numeric: numbers the sheet typed are used as they are; text goes
    through clean_number_text and number_text_to_numeric. Null when not a number. -#}
{% macro parse_price(cell_expr) -%}
    case
        when jsonb_typeof({{ cell_expr }}) = 'number' then ({{ cell_expr }} #>> '{}')::numeric
        when jsonb_typeof({{ cell_expr }}) = 'string' then
            {{ number_text_to_numeric(clean_number_text(cell_expr ~ " #>> '{}'")) }}
    end
{%- endmacro %}
