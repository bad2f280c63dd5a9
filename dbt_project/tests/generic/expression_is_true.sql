{#- Fails for every row where the SQL expression is not true (dbt_utils cannot be installed here). -#}
{% test expression_is_true(model, expression, column_name=none) %}

select *
from {{ model }}
where not ({{ expression }})

{% endtest %}
