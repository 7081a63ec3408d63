{#- One row per current household (世帯) of the resident registry. -#}
with

residents as (
    select r.*, m.person_id
    from {{ ref('stg_juki__residents') }} r
    join {{ ref('stg_identity__person_membership') }} m on m.unique_id = 'juki|' || r.atena_bango
    where r.resident_status_code = '1' and r.setai_bango is not null
),

final as (
    select
        'H' || setai_bango as household_id,
        setai_bango,
        max(person_id) filter (where relation_to_head = '世帯主') as head_person_id,
        count(distinct person_id) as members,
        count(distinct person_id) filter (where birth_year is not null
            and date_diff('year', make_date(birth_year, coalesce(birth_month, 7), 1), {{ as_of_date() }}) < 18)
            as members_under_18,
        arg_max(address_canonical, updated_at) as address,
        arg_max(town, updated_at) as town
    from residents
    group by setai_bango
)

select * from final
