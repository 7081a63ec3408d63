{#- Golden record per person. Survivorship, field by field:
    - name, kana, sex: the resident registry (newest juki record, a current resident's first), else
      kokuho, zei, hojokin, kosodate in that order, newest first;
    - birth date: the most precise one (day over month over year), then by the same source order;
    - address: the registry's current address for a resident; for a person the registry does not hold,
      the newest in-city address another source gives; none for a person who moved out or died
      (last_address_in_city keeps the last one known); its 郵便番号 (postal_code) is the registry's, the only
      source that delivers one for a person's address (null for the others: never guessed from the town);
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
            case when r.atena_bango is not null and r.unique_id not in (select unique_id from suspect
                where key_column = 'atena_bango' and unique_id is not null) then r.atena_bango end
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

{#- Each "best" below is an arg_max over one key, in one hash aggregate per source of fields, not a sort
    per field (the four windows this replaced were most of the model's time). A key orders as the rule
    above says; "newest" puts an unknown date last. -#}
{% set newest = "coalesce(observed_at, '-infinity'::timestamp)" %}

registry as (
    select person_id, unnest(r)
    from (
        select person_id, arg_max({
                'resident_status_code': resident_status_code, 'address_canonical': address_canonical,
                'postal_code': postal_code, 'katagaki': katagaki, 'town': town, 'setai_bango': setai_bango,
                'relation_to_head': relation_to_head},
            {'current': case when resident_status_code = '1' then 2 when resident_status_code is not null then 1
                             else 0 end,
             'updated': coalesce(updated_at, '-infinity'::timestamp), 'atena_bango': atena_bango}) as r
        from juki
        group by person_id
    ) as by_person
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
    select person_id, unnest(best)
    from (
        select person_id, arg_max({'name_display': name_display, 'name_kana': name_kana, 'name_source': source_system},
            {'rank': -case source_system when 'juki' then 1 when 'kokuho' then 2 else 3 end,
             'observed': {{ newest }}}) as best
        from display_names
        group by person_id
    ) as by_person
),

people as (
    select person_id, source_records, sources, atena_bangos, unnest(b), unnest(s), unnest(a)
    from (
        select person_id, count(*) as source_records,
            list_sort(list_distinct(list(source_system))) as sources,  -- not list(distinct): twice as slow
            list_sort(list_distinct(list(atena_bango) filter (where atena_bango is not null))) as atena_bangos,
            arg_max({'birth_year': birth_year, 'birth_month': birth_month, 'birth_day': birth_day,
                     'birth_source': source_system},
                {'precision': (birth_day is not null)::int + (birth_month is not null)::int, 'rank': -source_rank,
                 'observed': {{ newest }}}) filter (where birth_year is not null) as b,
            arg_max({'sex_code': sex_code, 'sex_source': source_system},
                {'rank': -source_rank, 'observed': {{ newest }}}) filter (where sex_code is not null) as s,
            arg_max({'address_canonical': address_canonical, 'town': town, 'address_source': source_system},
                {'rank': -source_rank, 'observed': {{ newest }}}) filter (where address_key is not null) as a
        from records
        group by person_id
    ) as by_person
),

final as (
    select
        p.person_id,
        n.name_display as name,
        n.name_kana,
        n.name_source,
        case when p.birth_day is not null then make_date(p.birth_year, p.birth_month, p.birth_day) end
            as birth_date,
        p.birth_year,
        p.birth_month,
        case when p.birth_day is not null then 'day' when p.birth_month is not null then 'month'
            when p.birth_year is not null then 'year' else 'unknown' end as birth_date_precision,
        p.birth_source,
        case p.sex_code when '1' then '男' when '2' then '女' end as sex,
        p.sex_source,
        case when reg.resident_status_code = '1' then reg.address_canonical
            when reg.person_id is null then p.address_canonical end as address,
        case when reg.resident_status_code = '1' then reg.katagaki end as katagaki,
        case when reg.resident_status_code = '1' and regexp_full_match(reg.postal_code, '[0-9]{7}')
            then reg.postal_code end as postal_code,
        case when reg.resident_status_code = '1' then reg.town when reg.person_id is null then p.town end as town,
        case when reg.resident_status_code = '1' then 'juki' when reg.person_id is null then p.address_source end
            as address_source,
        coalesce(reg.address_canonical, p.address_canonical) as last_address_in_city,
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
    left join registry reg using (person_id)
)

select * from final
