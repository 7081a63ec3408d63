{#- 契約課: one row per registered vendor (入札参加資格者) with its contract record. -#}
with

businesses as (
    select * from {{ ref('dim_business') }}
    where is_registered_vendor
),

contracts as (
    select * from {{ ref('mart_contracts_by_business') }}
),

final as (
    select
        b.business_id,
        b.name,
        b.legal_form,
        b.houjin_bango,
        b.address_key as address,
        b.town,
        b.located_in_city,
        b.closed_on,
        coalesce(c.contracts, 0) as contracts,
        coalesce(c.contract_amount_yen, 0) as contract_amount_yen,
        c.first_contract_on,
        c.last_contract_on,
        coalesce(c.bids, 0) as bids,
        coalesce(c.winning_bids, 0) as winning_bids
    from businesses b
    left join contracts c using (business_id)
)

select * from final
