{{ config(unique_key='uketsuke_bango') }}
with

source as (
    select * from {{ source('bronze', 'madoguchi__uketsuke_current') }}
    {{ only_new_deliveries() }}
),

final as (
    select
        uketsuke_bango,
        anken_bango as case_number,
        uketsuke_nichiji as received_at,
        kanryo_nichiji as completed_at,
        kyoten as office,
        channel,
        tetsuzuki_code as procedure_code,
        tetsuzuki_mei as procedure_name,
        atena_bango,
        raicho_kaisu as visits,
        kinyu_komoku_su as fields_entered,
        kichi_komoku_su as fields_already_held,
        teishutsu_shorui_su as documents_submitted,
        tanto_ka as section,
        _delivery_date as delivered_on,
        _loaded_at as loaded_at,
        _file as source_file,
        _line as source_line
    from source
)

select * from final
