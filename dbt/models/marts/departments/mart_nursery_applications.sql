{#- 年齢クラス is the child's age on 1 April of the fiscal year the application is for (令和8年度 → 2026-04-01). -#}
with

applications as (
    select a.*,
        xp.person_id as parent_person_id,
        xc.person_id as child_person_id,
        ('20' || (18 + regexp_extract(a.moushikomi_bango, '^R(\d+)-', 1)::integer)::varchar)::integer
            as fiscal_year
    from {{ ref('stg_kosodate__applications') }} a
    left join {{ ref('person_source_xref') }} xp
        on xp.source_system = 'kosodate' and xp.source_record_key = a.moushikomi_bango || ':保護者'
    left join {{ ref('person_source_xref') }} xc
        on xc.source_system = 'kosodate' and xc.source_record_key = a.moushikomi_bango || ':児童'
),

final as (
    select
        a.moushikomi_bango,
        a.fiscal_year,
        a.applied_on,
        a.parent_person_id,
        a.child_person_id,
        coalesce(c.birth_date, a.child_birth_date) as child_birth_date,
        {{ age_on("make_date(a.fiscal_year, 4, 1)", "year(coalesce(c.birth_date, a.child_birth_date))",
                  "month(coalesce(c.birth_date, a.child_birth_date))",
                  "day(coalesce(c.birth_date, a.child_birth_date))") }}::integer as age_class,
        coalesce(c.town, pp.town, a.town) as town,
        a.first_choice_nursery,
        coalesce(pp.status = 'resident', false) as parent_is_resident,
        coalesce(c.status = 'resident', false) as child_is_resident,
        a.note
    from applications a
    left join {{ ref('dim_person') }} c on c.person_id = a.child_person_id
    left join {{ ref('dim_person') }} pp on pp.person_id = a.parent_person_id
)

select * from final
