with

source as (
    select * from {{ source('bronze', 'keiyaku__nyusatsu_current') }}
),

final as (
    select
        nyusatsu_id,
        anken_id as tender_id,
        gyosha_id,
        nyusatsu_kingaku as bid_amount_yen,
        nyusatsu_ymd as bid_on,
        rakusatsu as is_winning_bid,
        updated_at
    from source
)

select * from final
