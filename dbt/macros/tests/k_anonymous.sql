{#- Fails with every combination of the quasi-identifiers that fewer than k rows share (k-anonymity). An empty
    model fails too: a test of anonymity must have something to look at. -#}
{% test k_anonymous(model, quasi_identifiers, k) %}
with cells as (
    select {{ quasi_identifiers | join(', ') }}, count(*) as n
    from {{ model }}
    group by all
)
select *, 'fewer than {{ k }} rows share this combination' as failure from cells where n < {{ k }}
union all by name
select 'the model is empty' as failure from (select count(*) as c from {{ model }}) where c = 0
{% endtest %}
