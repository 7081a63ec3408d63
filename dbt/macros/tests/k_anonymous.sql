{#- Fails with every combination of the quasi-identifiers that fewer than k rows share (k-anonymity). An empty
    model passes (a city too small for any combination to reach k publishes nothing); tests/access checks that
    the test city's zone is far from empty. -#}
{% test k_anonymous(model, quasi_identifiers, k) %}
with cells as (
    select {{ quasi_identifiers | join(', ') }}, count(*) as n
    from {{ model }}
    group by all
)
select *, 'fewer than {{ k }} rows share this combination' as failure from cells where n < {{ k }}
{% endtest %}
