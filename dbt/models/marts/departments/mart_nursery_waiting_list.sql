{#- Applications not yet placed, by area (町名) and age class. The workbook carries no placement
    decisions, so every application of the newest workbook counts as waiting. -#}
select
    fiscal_year,
    coalesce(town, '(市外・不明)') as town,
    age_class,
    count(*)::integer as applications,
    count(*) filter (where child_is_resident)::integer as resident_children
from {{ ref('mart_nursery_applications') }}
where age_class between 0 and 5
group by all
