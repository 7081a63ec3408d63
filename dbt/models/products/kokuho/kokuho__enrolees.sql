{#- 国民健康保険課: one row per insured person (被保険者) ever enrolled, with name, birth date, sex and
    address; only persons the insurance system holds. -#}
with

enrolment as (
    select * from {{ ref('mart_kokuho_enrolment') }}
),

persons as (
    select person_id, name, name_kana, birth_date, sex, address from {{ ref('dim_person') }}
),

final as (
    select
        e.hihokensha_bango,
        e.person_id,
        e.household_id,
        p.name,
        p.name_kana,
        p.birth_date,
        p.sex,
        p.address,
        e.enrolled_on,
        e.left_on,
        e.leaving_reason,
        e.is_enrolled
    from enrolment e
    left join persons p using (person_id)
)

select * from final
