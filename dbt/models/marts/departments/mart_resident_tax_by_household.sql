with

assessments as (
    select * from {{ ref('int_zei_assessments_linked') }}
),

final as (
    select
        a.fiscal_year::integer as fiscal_year,
        p.household_id,
        max(p.town) as town,
        count(distinct a.person_id)::integer as members_assessed,
        count(distinct a.person_id) filter (where a.taxation_code = '1')::integer as members_taxed,
        sum(a.total_income_yen)::bigint as total_income_yen,
        sum(a.income_levy_yen)::bigint as income_levy_yen,
        sum(a.per_capita_levy_yen)::bigint as per_capita_levy_yen,
        (sum(a.income_levy_yen) + sum(a.per_capita_levy_yen))::bigint as total_levy_yen,
        bool_and(a.taxation_code = '3') as all_members_exempt
    from assessments a
    join {{ ref('dim_person') }} p using (person_id)
    where p.household_id is not null
    group by all
)

select * from final
