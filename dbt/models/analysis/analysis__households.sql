{#- 仮名加工情報: one row per current household (世帯) of the registry, for analysts planning push-type
    outreach. The key is this zone's pseudonym (the same one persons.household_key carries); the
    quasi-identifiers (area, household size, members under 18) are generalized until every combination covers
    at least var('analysis_k') households:
      level 0: the 丁目 (where it holds var('analysis_min_chome') persons, else the 町), size 1..6+, under 18: 0..3+;
      level 1: the 町, the same sizes;
      level 2: the 町, size 1/2/3+, under 18: 0/1+;
      level 3: the 町, size and under 18 withheld (*). -#}
with

households as (
    select * from {{ ref('dim_household') }}
),

allowance as (  -- 児童手当 claimed by a member (front desk or online)
    select distinct p.household_id
    from {{ ref('mart_once_only_procedures') }} m
    join {{ ref('dim_person') }} p using (person_id)
    where m.procedure_name = '児童手当認定請求' and p.household_id is not null
),

exempt as (  -- every assessed member exempt in the newest fiscal year
    select household_id, all_members_exempt
    from {{ ref('mart_resident_tax_by_household') }}
    qualify row_number() over (partition by household_id order by fiscal_year desc) = 1
),

base as (
    select
        h.household_id,
        h.town,
        nullif(regexp_extract(h.address, '^(.+?丁目)', 1), '') as chome,
        h.members,
        h.members_under_18,
        a.household_id is not null as child_allowance_claimed,
        e.all_members_exempt as tax_exempt
    from households h
    left join allowance a using (household_id)
    left join exempt e using (household_id)
),

chome_persons as (
    select nullif(regexp_extract(address, '^(.+?丁目)', 1), '') as chome, count(*) as persons
    from {{ ref('dim_person') }} where status = 'resident' group by 1
),

levels as (
    select b.*,
        case when b.chome is not null and coalesce(c.persons, 0) >= {{ var('analysis_min_chome') }} then b.chome
            else b.town end as area0,
        case when members >= 6 then '6人以上' else members::varchar || '人' end as size0,
        case when members >= 3 then '3人以上' else members::varchar || '人' end as size2,
        case when members_under_18 >= 3 then '3人以上' else members_under_18::varchar || '人' end as u0,
        case when members_under_18 >= 1 then '1人以上' else '0人' end as u2
    from base b
    left join chome_persons c using (chome)
    where b.town is not null
),

l0 as (
    select *, count(*) over (partition by area0, size0, u0) >= {{ var('analysis_k') }} as ok0 from levels
),

l1 as (
    select *, ok0 or count(*) over (partition by ok0, town, size0, u0) >= {{ var('analysis_k') }} as ok1 from l0
),

l2 as (
    select *, ok1 or count(*) over (partition by ok1, town, size2, u2) >= {{ var('analysis_k') }} as ok2 from l1
),

l3 as (
    select *, ok2 or count(*) over (partition by ok2, town) >= {{ var('analysis_k') }} as ok3 from l2
),

final as (
    select
        os_pseudonym('household', household_id) as household_key,
        case when ok0 then area0 else town end as area,
        case when ok0 and area0 <> town then 'chome' else 'town' end as area_level,
        town,
        case when ok1 then size0 when ok2 then size2 else '*' end as household_size,
        case when ok1 then u0 when ok2 then u2 else '*' end as members_under_18,
        case when ok0 then 0 when ok1 then 1 when ok2 then 2 else 3 end as generalization_level,
        child_allowance_claimed,
        tax_exempt
    from l3
    where ok3
)

select * from final
