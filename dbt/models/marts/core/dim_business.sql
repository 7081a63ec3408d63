{#- Golden record per business: the NTA's register wins (name, 法人番号, address), then the
    contract system's vendor record, then subsidy applications; each field says which source won. -#}
with

membership as (
    select unique_id, source_system, business_id from {{ ref('stg_identity__business_membership') }}
),

suspect as (  -- 法人番号 the linkage refused as another firm's: no golden record takes them
    select unique_id from {{ ref('stg_identity__key_conflicts') }}
    where entity = 'business' and key_column = 'houjin_bango'
),

records as (
    select m.business_id, r.* replace (
            case when r.unique_id not in (select unique_id from suspect) then r.houjin_bango end as houjin_bango),
        case r.source_system when 'houjin' then 1 when 'keiyaku' then 2 else 3 end as source_rank
    from membership m
    join {{ ref('int_business_records_unioned') }} r using (unique_id)
),

best as (
    select business_id, name, legal_form, address_key, town, located_in_city, source_system as name_source
    from records
    qualify row_number() over (partition by business_id order by source_rank, observed_at desc nulls last) = 1
),

corp as (
    select m.business_id, c.houjin_bango, c.kind_code, c.closed_on, c.local_government_code
    from membership m
    join {{ ref('stg_houjin__corporations') }} c on m.unique_id = 'houjin|' || c.houjin_bango
    qualify row_number() over (partition by m.business_id order by c.updated_on desc nulls last) = 1
),

agg as (
    select business_id, count(*) as source_records,
        list(distinct source_system order by source_system) as sources,
        max(houjin_bango) as any_houjin_bango,
        bool_or(source_system = 'keiyaku') as is_registered_vendor
    from records group by business_id
),

final as (
    select
        a.business_id,
        b.name,
        b.legal_form,
        b.name_source,
        coalesce(c.houjin_bango, a.any_houjin_bango) as houjin_bango,
        c.kind_code as corporation_kind_code,
        c.closed_on,
        replace(case when b.town is not null then b.address_key end, '|', '-') as address_key,  -- in the city
        b.town,
        coalesce(b.located_in_city, false) as located_in_city,
        a.is_registered_vendor,
        a.sources,
        a.source_records
    from agg a
    left join best b using (business_id)
    left join corp c using (business_id)
)

select * from final
