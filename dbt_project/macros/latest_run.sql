{#- Data tests of the tables that grow with every list check the rows of the latest run only:
    each run's rows were checked by that run, and a whole-table scan per list would make every
    list cost as much as all the lists before it (make bench, docs/performance.md). Run
    `dbt build --vars '{check_every_row: true}'` to check every row (an audit). -#}
{% macro latest_run_only(column, relation, run_column=none) -%}
    {%- if var('check_every_row', false) -%}
        true
    {%- else -%}
        {{ column }} = (select max({{ run_column or column }}) from {{ relation }})
    {%- endif -%}
{%- endmacro %}

{#- Generic tests of a model whose config says `meta: {latest_run_column: <column>}` (a column
    every row of one dbt run shares) see that model's latest run only. Self-contained: dbt
    renders this with the test's own macros only, so it cannot call the macros above. -#}
{% macro postgres__get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set ns = namespace(column=none) -%}
    {%- if execute and not var('check_every_row', false) -%}
        {%- for node in graph.nodes.values() -%}
            {%- if node.resource_type == 'model' and node.schema == relation.schema
                    and (node.alias or node.name) == relation.identifier -%}
                {%- set ns.column = node.config.meta.get('latest_run_column') -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if ns.column -%}
        {%- do conditions.append(ns.column ~ ' = (select max(' ~ ns.column ~ ') from ' ~ relation ~ ')') -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ conditions | join(' and ') ~ ') dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
