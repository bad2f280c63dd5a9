{#- A row rule: declared once, on int_price_rows__parsed, with a stable code, a severity and the
    SQL condition a failing row meets. The model reads every row_rule from the graph to decide
    each row's outcome (error rejects, warn accepts with a warning) and parsing_logs writes one
    log row per failure; this test reports the rows of the latest run that break the rule.
    Supplier lists always have bad rows, so these tests warn; the gates are the other tests. -#}
{% test row_rule(model, rule_code, rule_severity, fails_when, message, column='null', value='null', scope='row') %}

select load_id, task_id, sheet, row_number, '{{ rule_code }}' as rule_code
from {{ model }}
where outcome <> 'skipped'
    and parsed_at = (select max(parsed_at) from {{ model }})
    and ({{ fails_when }})

{% endtest %}
