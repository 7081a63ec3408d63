{% macro bronze_versions(table) -%}
{#- Every delivered version of a bronze table: the table behind its <table>_current view. Read through the
    view's source, so that the view and its table stay one source (one Dagster asset). -#}
{%- set current = source('bronze', table ~ '_current') -%}
{{ api.Relation.create(database=current.database, schema=current.schema, identifier=table) }}
{%- endmacro %}
