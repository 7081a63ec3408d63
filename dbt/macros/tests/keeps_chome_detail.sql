{#- The analysis zone must stay useful: fails when fewer of the model's rows keep their 丁目 (area_level =
    'chome') than the policy asks, so that generalizing every area away cannot pass the k-anonymity test. The
    policy asks var('analysis_min_chome_share') (one half) of a city whose 丁目 hold var('analysis_chome_full_at')
    residents or more on average (Ichikawa: about 2,400), and proportionally less of a smaller city, whose
    丁目 cannot hold k persons in each cell (a 4,000-resident test city: about 19 per 丁目, 3%); nothing of a
    city none of whose 丁目 holds min_chome residents. -#}
{% test keeps_chome_detail(model, share, full_at, min_chome) %}
{#- a floor of usefulness, not a guarantee of privacy: below it the zone is coarser than it should be, which the
    data team hears of (a warning in the run and its checks), but no town is kept from publishing for it; only
    the privacy and integrity tests (no_direct_identifiers, k_anonymous, keys) block a release -#}
{{ config(severity='warn') }}
{#- the golden records, named without ref(): a ref would make this a test of dim_person too, run (and failing)
    by the marts stage before the analysis zone is built -#}
{%- set persons = api.Relation.create(database=model.database, schema='marts', identifier='dim_person') -%}
with chome as (
    select regexp_extract(address, '^(.+?丁目)', 1) as chome, count(*) as residents
    from {{ persons }} where status = 'resident' and address like '%丁目%'
    group by 1
),

city as (  -- no 丁目 large enough to be named at all: nothing to keep
    select case when max(residents) >= {{ min_chome }} then sum(residents) / count(*) else 0 end
        as residents_per_chome
    from chome
),

observed as (
    select count(*) filter (where area_level = 'chome') / nullif(count(*), 0) as kept from {{ model }}
)

select o.kept, {{ share }} * least(1.0, coalesce(c.residents_per_chome, 0) / {{ full_at }}) as required,
    c.residents_per_chome
from observed o, city c
where coalesce(o.kept, 0) < {{ share }} * least(1.0, coalesce(c.residents_per_chome, 0) / {{ full_at }})
   or o.kept is null
{% endtest %}
