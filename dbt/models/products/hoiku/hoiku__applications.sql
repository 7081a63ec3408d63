{#- 保育課: one row per nursery application, with the child's and the parent's names. -#}
with

applications as (
    select * from {{ ref('mart_nursery_applications') }}
),

persons as (
    select person_id, name from {{ ref('dim_person') }}
),

final as (
    select
        a.moushikomi_bango,
        a.fiscal_year,
        a.applied_on,
        a.child_person_id,
        c.name as child_name,
        a.child_birth_date,
        a.age_class,
        a.parent_person_id,
        pp.name as parent_name,
        a.town,
        a.first_choice_nursery,
        a.parent_is_resident,
        a.child_is_resident
    from applications a
    left join persons c on c.person_id = a.child_person_id
    left join persons pp on pp.person_id = a.parent_person_id
)

select * from final
