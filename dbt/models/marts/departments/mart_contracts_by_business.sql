with

vendors as (
    select v.gyosha_id, x.business_id
    from {{ ref('stg_keiyaku__vendors') }} v
    join {{ ref('business_source_xref') }} x on x.source_system = 'keiyaku' and x.source_record_key = v.vendor_key
),

contracts as (
    select v.business_id, count(*) as contracts, sum(c.amount_yen) as contract_amount_yen,
        min(c.contracted_on) as first_contract_on, max(c.contracted_on) as last_contract_on
    from {{ ref('stg_keiyaku__contracts') }} c join vendors v using (gyosha_id)
    where not c.is_deleted
    group by all
),

bids as (
    select v.business_id, count(*) as bids, count(*) filter (where b.is_winning_bid) as winning_bids
    from {{ ref('stg_keiyaku__bids') }} b join vendors v using (gyosha_id)
    group by all
),

final as (
    select
        d.business_id,
        d.name,
        d.houjin_bango,
        d.located_in_city as is_local_business,
        coalesce(c.contracts, 0)::integer as contracts,
        coalesce(c.contract_amount_yen, 0)::bigint as contract_amount_yen,
        c.first_contract_on,
        c.last_contract_on,
        coalesce(b.bids, 0)::integer as bids,
        coalesce(b.winning_bids, 0)::integer as winning_bids
    from {{ ref('dim_business') }} d
    left join contracts c using (business_id)
    left join bids b using (business_id)
    where d.is_registered_vendor
)

select * from final
