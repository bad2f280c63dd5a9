{#- Every row_rule test declared in the project, as its arguments (rule_code, severity, scope,
    fails_when, message, column, value), ordered by code. Empty while dbt parses (the graph is
    read when the model runs) and in unit tests (their graph holds no tests). -#}
{% macro row_rules(scope=none) %}
    {% set rules = [] %}
    {% if execute %}
        {% for node in graph.get('nodes', {}).values() %}
            {% if node.resource_type == 'test' and node.test_metadata
                and node.test_metadata.name == 'row_rule' %}
                {% set rule = node.test_metadata.kwargs %}
                {% if scope is none or rule.get('scope', 'row') == scope %}
                    {% do rules.append(rule) %}
                {% endif %}
            {% endif %}
        {% endfor %}
    {% endif %}
    {{ return(rules | sort(attribute='rule_code')) }}
{% endmacro %}


{#- SQL text[] of the codes of the rules of `scope` that the current row fails. -#}
{% macro failed_rule_codes(scope) -%}
    array_remove(array[
        {%- for rule in row_rules(scope) %}
        case when ({{ rule.fails_when }}) then '{{ rule.rule_code }}' end,
        {%- endfor %}
        null::text
    ], null)
{%- endmacro %}


{#- SQL text[] of the codes of every rule with severity error. -#}
{% macro error_rule_codes() -%}
    array[
        {%- for rule in row_rules() if rule.rule_severity == 'error' %}'{{ rule.rule_code }}', {% endfor -%}
        null::text
    ]
{%- endmacro %}
