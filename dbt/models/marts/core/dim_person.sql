{#- Golden record per person. Survivorship, field by field:
    - name, kana, sex: the resident registry (newest juki record, a current resident's first), else
      kokuho, zei, hojokin, kosodate in that order, newest first;
    - birth date: the most precise one (day over month over year), then by the same source order;
    - address: the registry's current address for a resident; for a person the registry does not hold,
      the newest in-city address another source gives; none for a person who moved out or died
      (last_address_in_city keeps the last one known);
    - status: from the registry (住民 / 転出 / 死亡 / 職権消除); not_registered when no juki record (住登外者).
    Each field says which source won it. -#}
with

membership as (
    select unique_id, source_system, person_id from {{ ref('stg_identity__person_membership') }}
),

suspect as (  -- keys the linkage refused as someone else's: no golden record takes them
    select unique_id, key_column from {{ ref('stg_identity__key_conflicts') }} where entity = 'person'
),

records as (
    select m.person_id, r.* replace (
            case when r.atena_bango is not null and not exists (select 1 from suspect s
                where s.unique_id = r.unique_id and s.key_column = 'atena_bango') then r.atena_bango end
                as atena_bango),
        case r.source_system when 'juki' then 1 when 'kokuho' then 2 when 'zei' then 3 when 'hojokin' then 4
            when 'kosodate' then 5 else 9 end as source_rank
    from membership m
    join {{ ref('int_person_records_unioned') }} r using (unique_id)
),

juki as (
    select m.person_id, j.*
    from membership m
    join {{ ref('stg_juki__residents') }} j on m.source_system = 'juki' and m.unique_id = 'juki|' || j.atena_bango
),

registry as (
    select * from juki
    qualify row_number() over (partition by person_id
        order by resident_status_code = '1' desc, updated_at desc nulls last, atena_bango desc) = 1
),

display_names as (
    select m.person_id, m.source_system, n.name_display, n.name_kana, n.observed_at
    from membership m
    join (
        select 'juki|' || atena_bango as unique_id, name_display, name_kana, updated_at::timestamp as observed_at
        from {{ ref('stg_juki__residents') }}
        union all by name
        select 'kokuho|' || hihokensha_bango as unique_id, name_display, name_kana, updated_at::timestamp as observed_at
        from {{ ref('stg_kokuho__enrolments') }}
        union all by name
        select 'zei|' || assessment_key as unique_id, name_display, name_kana, updated_on::timestamp as observed_at
        from {{ ref('stg_zei__assessments') }}
    ) n using (unique_id)
),

best_name as (
    select d.person_id, d.name_display, d.name_kana, d.source_system as name_source
    from display_names d
    qualify row_number() over (partition by d.person_id
        order by case d.source_system when 'juki' then 1 when 'kokuho' then 2 else 3 end, d.observed_at desc) = 1
),

best_birth as (
    select person_id, birth_year, birth_month, birth_day, source_system as birth_source
    from records
    where birth_year is not null
    qualify row_number() over (partition by person_id
        order by (birth_day is not null)::int + (birth_month is not null)::int desc, source_rank,
                 observed_at desc nulls last) = 1
),

best_sex as (
    select person_id, sex_code, source_system as sex_source
    from records where sex_code is not null
    qualify row_number() over (partition by person_id order by source_rank, observed_at desc nulls last) = 1
),

best_address as (
    select person_id, address_key, address_canonical, town, source_system as address_source
    from records where address_key is not null
    qualify row_number() over (partition by person_id order by source_rank, observed_at desc nulls last) = 1
),

people as (
    select person_id, count(*) as source_records, list(distinct source_system order by source_system) as sources,
        list(distinct atena_bango order by atena_bango) filter (where atena_bango is not null) as atena_bangos
    from records group by person_id
),

final as (
    select
        p.person_id,
        n.name_display as name,
        n.name_kana,
        n.name_source,
        case when b.birth_day is not null then make_date(b.birth_year, b.birth_month, b.birth_day) end
            as birth_date,
        b.birth_year,
        b.birth_month,
        case when b.birth_day is not null then 'day' when b.birth_month is not null then 'month'
            when b.birth_year is not null then 'year' else 'unknown' end as birth_date_precision,
        b.birth_source,
        case s.sex_code when '1' then '男' when '2' then '女' end as sex,
        s.sex_source,
        case when reg.resident_status_code = '1' then reg.address_canonical
            when reg.person_id is null then a.address_canonical end as address,
        case when reg.resident_status_code = '1' then reg.katagaki end as katagaki,
        case when reg.resident_status_code = '1' then reg.town when reg.person_id is null then a.town end as town,
        case when reg.resident_status_code = '1' then 'juki' when reg.person_id is null then a.address_source end
            as address_source,
        coalesce(reg.address_canonical, a.address_canonical) as last_address_in_city,
        case reg.resident_status_code when '1' then 'resident' when '2' then 'moved_out' when '3' then 'deceased'
            when '4' then 'removed' else 'not_registered' end as status,
        case when reg.person_id is not null then 'juki' end as status_source,
        case when reg.resident_status_code = '1' then 'H' || reg.setai_bango end as household_id,
        case when reg.resident_status_code = '1' then reg.relation_to_head end as relation_to_head,
        p.atena_bangos,
        p.sources,
        p.source_records
    from people p
    left join best_name n using (person_id)
    left join best_birth b using (person_id)
    left join best_sex s using (person_id)
    left join best_address a using (person_id)
    left join registry reg using (person_id)
)

select * from final
