{{ config(unique_key='gyosha_id') }}
with

source as (
    select * from {{ source('bronze', 'keiyaku__gyosha_current') }}
    {{ only_new_deliveries() }}
),

normalized as (
    select *, os_company(shogo) as company, os_address(shozaichi) as address
    from source
),

final as (
    select
        gyosha_id,
        'gyosha:' || gyosha_id::varchar as vendor_key,
        houjin_bango,
        shogo as trade_name,
        company.core as name_core_key,
        company.form as legal_form,
        company.form_position as legal_form_position,
        os_kana_key(os_company(shogo_kana).core) as name_kana_key,
        daihyosha_shimei as representative_name,
        os_name_key(daihyosha_shimei) as representative_name_key,
        shozaichi as address_written,
        address.in_city as located_in_city,
        address.canonical as address_canonical,
        address.key as address_key,
        address.outside_key as outside_address_key,
        address.town,
        os_phone_key(denwa) as phone_key,
        gyoshu as trade_category,
        toroku_ymd as registered_on,
        deleted_at,
        deleted_at is not null as is_deleted,
        updated_at,
        _delivery_date as delivered_on,
        _loaded_at as loaded_at,
        _file as source_file,
        _line as source_line
    from normalized
)

select * from final
