{#- Post-hook of a table dbt creates: the database itself holds its key, not-null columns and
    checks, so a task's build can leave their tests out (tag `enforced_by_database`; CI and a
    build by hand still run them). Only what is missing is added, in one `alter table` (the
    checks then read the rows once): when dbt creates the table (also on --full-refresh), and
    once on a database whose table was made before the rule existed. Otherwise it reads the
    catalogue, changes nothing and takes no lock on the table. -#}
{% macro enforce_table_rules(primary_key=[], not_null=[], checks={}) -%}
    {%- set table = this.include(database=False) -%}
    do $enforce$
    declare
        missing text[] := '{}';
    begin
        {%- if primary_key %}
        if not exists (
            select 1 from pg_constraint where conrelid = '{{ table }}'::regclass and contype = 'p'
        ) then
            missing := array_append(
                missing, $rule$add primary key ({{ primary_key | join(', ') }})$rule$
            );
        end if;
        {%- endif %}
        {%- for column in not_null %}
        if not (
            select attnotnull from pg_attribute
            where attrelid = '{{ table }}'::regclass and attname = '{{ column }}'
        ) then
            missing := array_append(missing, $rule$alter column {{ column }} set not null$rule$);
        end if;
        {%- endfor %}
        {%- for name, expression in checks.items() %}
        if not exists (
            select 1 from pg_constraint
            where conrelid = '{{ table }}'::regclass and conname = '{{ name }}'
        ) then
            missing := array_append(
                missing, $rule$add constraint {{ name }} check ({{ expression }})$rule$
            );
        end if;
        {%- endfor %}
        if cardinality(missing) > 0 then
            execute 'alter table {{ table }} ' || array_to_string(missing, ', ');
        end if;
    end
    $enforce$
{%- endmacro %}
