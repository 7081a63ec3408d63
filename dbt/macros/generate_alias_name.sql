{#- A product or analysis model is named <role>__<table> (dbt's names are project-wide); its table in its
    role's schema is <table>: product_hoiku.applications, analysis.persons. -#}
{% macro generate_alias_name(custom_alias_name=none, node=none) -%}
    {%- if custom_alias_name -%}
        {{ custom_alias_name | trim }}
    {%- elif node.fqn[1] in ('products', 'analysis') and '__' in node.name -%}
        {{ node.name.split('__', 1)[1] }}
    {%- else -%}
        {{ node.name }}
    {%- endif -%}
{%- endmacro %}
