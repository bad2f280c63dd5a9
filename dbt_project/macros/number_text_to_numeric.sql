{#- Cleaned number text (see clean_number_text) to numeric, or null when it is not a number.
    Separator rule: with both `,` and `.`, the one further right is the decimal mark
    (`1,234.56`, `1.234,56`); a single `,` or `.` is the decimal mark (`12,50`, `12.50`);
    the same mark repeated is a thousands separator (`1.234.567`, `1,234,567`). -#}
{% macro number_text_to_numeric(s) -%}
    case
        when {{ s }} !~ '^-?[0-9][0-9.,]*$' then null
        when {{ s }} ~ ',' and {{ s }} ~ '\.' then
            case
                when strpos(reverse({{ s }}), '.') < strpos(reverse({{ s }}), ',')
                    then nullif(replace({{ s }}, ',', ''), '')
                else replace(replace({{ s }}, '.', ''), ',', '.')
            end
        when {{ s }} ~ ',.*,' then replace({{ s }}, ',', '')
        when {{ s }} ~ '\..*\.' then replace({{ s }}, '.', '')
        else replace({{ s }}, ',', '.')
    end::numeric
{%- endmacro %}
