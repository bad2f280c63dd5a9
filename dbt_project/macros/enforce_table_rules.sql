{#- Post-hook of a table dbt creates: the database itself holds its key, not-null columns and
    checks, so a task's build can leave their tests out (tag `enforced_by_database`; CI and a
    build by hand still run them). Only what is missing is added: once when dbt creates the
    table (also on --full-refresh), and once on a database built before the rule existed.
    Otherwise it reads the catalogue and changes nothing, taking no lock on the table. -#}
{% macro enforce_table_rules(primary_key=[], not_null=[], checks={}) -%}
    {%- set table = this.include(database=False) -%}
    do $enforce$
    begin
        {%- if primary_key %}
        if not exists (
            select 1 from pg_constraint where conrelid = '{{ table }}'::regclass and contype = 'p'
        ) then
            alter table {{ table }} add primary key ({{ primary_key | join(', ') }});
        end if;
        {%- endif %}
        {%- for column in not_null %}
        if not (
            select attnotnull from pg_attribute
            where attrelid = '{{ table }}'::regclass and attname = '{{ column }}'
        ) then
            alter table {{ table }} alter column {{ column }} set not null;
        end if;
        {%- endfor %}
        {%- for name, expression in checks.items() %}
        if not exists (
            select 1 from pg_constraint
            where conrelid = '{{ table }}'::regclass and conname = '{{ name }}'
        ) then
            alter table {{ table }} add constraint {{ name }} check ({{ expression }});
        end if;
        {%- endfor %}
    end
    $enforce$
{%- endmacro %}
