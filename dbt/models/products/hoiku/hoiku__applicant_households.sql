{#- 保育課: one row per member of a household in which a child or a parent applied for a nursery place:
    the applicants and their households, not the whole registry. -#}
with

applicants as (
    select child_person_id as person_id from {{ ref('mart_nursery_applications') }}
    union
    select parent_person_id from {{ ref('mart_nursery_applications') }}
),

persons as (
    select * from {{ ref('dim_person') }}
),

households as (
    select distinct persons.household_id
    from applicants
    inner join persons using (person_id)
    where persons.household_id is not null
),

final as (
    select
        p.household_id,
        p.person_id,
        p.name,
        p.name_kana,
        p.birth_date,
        p.sex,
        p.relation_to_head,
        p.person_id in (select person_id from applicants) as is_applicant
    from persons p
    inner join households using (household_id)
)

select * from final
