with

source as (
    select * from {{ source('bronze', 'keiyaku__keiyaku_current') }}
),

final as (
    select
        keiyaku_id,
        gyosha_id,
        kenmei as title,
        keiyaku_kingaku as amount_yen,
        keiyaku_ymd as contracted_on,
        koki_from as term_from,
        koki_to as term_to,
        tanto_ka as section,
        keiyaku_hoho as procurement_method,
        deleted_at,
        deleted_at is not null as is_deleted,
        updated_at
    from source
)

select * from final
