{#- Fails with every column of the model whose name says it holds a direct identifier (name, kana, 宛名番号,
    個人番号 or its token, phone, mail, street address, building, birth date) or a platform key (person_id,
    household_id, business_id): the analysis zone holds none of them. The classification carried from the
    contracts is checked by tests/access too. -#}
{% test no_direct_identifiers(model) %}
{%- set pattern = '(^|_)(name|kana|shimei|atena|kojin|my_?number|token|phone|denwa|mail|address|jusho|banchi|katagaki|tatemono|birth_date|seinengappi|person_id|household_id|business_id|hihokensha|setai_bango)(_|$)' -%}
{%- set columns = adapter.get_columns_in_relation(model) if execute else [] -%}
select column_name, 'a direct identifier or a platform key' as failure
from (values {% for c in columns %}('{{ c.name }}'){{ ',' if not loop.last }}{% else %}(null){% endfor %}) as t(column_name)
where regexp_matches(lower(column_name), '{{ pattern }}')
{% endtest %}
