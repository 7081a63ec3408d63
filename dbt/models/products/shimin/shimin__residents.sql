{#- 市民課: one row per person the resident registry holds (住民 and 除票), for 住民基本台帳事務. Nothing of
    tax, insurance or nurseries; persons only other systems know (住登外者) are not in it. -#}
with

persons as (
    select * from {{ ref('dim_person') }}
    where status_source = 'juki'
),

final as (
    select
        person_id,
        atena_bangos,
        name,
        name_kana,
        birth_date,
        birth_date_precision,
        sex,
        address,
        katagaki,
        town,
        status,
        household_id,
        relation_to_head
    from persons
)

select * from final
