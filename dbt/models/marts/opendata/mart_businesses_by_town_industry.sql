{#- Businesses located in the city by 町名 and industry (業種 of the contract system's vendor record;
    その他・不明 when the business is not a registered vendor). -#}
with

industry as (
    select x.business_id, arg_max(v.trade_category, v.updated_at) as industry
    from {{ ref('stg_keiyaku__vendors') }} v
    join {{ ref('business_source_xref') }} x on x.source_system = 'keiyaku' and x.source_record_key = v.vendor_key
    group by x.business_id
)

select
    b.town,
    coalesce(i.industry, 'その他・不明') as industry,
    count(*) as businesses,
    {{ as_of_date() }} as as_of_date
from {{ ref('dim_business') }} b
left join industry i using (business_id)
where b.located_in_city and b.town is not null and b.closed_on is null
group by all
