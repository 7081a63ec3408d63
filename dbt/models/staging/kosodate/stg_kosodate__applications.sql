{{ config(unique_key='moushikomi_bango') }}
with

source as (
    select * from {{ source('bronze', 'kosodate__moushikomi_current') }}
    {{ only_new_deliveries() }}
),

normalized as (
    select *, os_address(jusho) as address
    from source
),

final as (
    select
        moushikomi_bango,
        moushikomi_ymd as applied_on,
        hogosha_shimei as parent_name,
        os_name_display(hogosha_shimei) as parent_name_display,
        os_name_key(hogosha_shimei) as parent_name_key,
        os_kana_display(hogosha_kana) as parent_name_kana,
        os_kana_key(hogosha_kana) as parent_name_kana_key,
        os_kana_key(os_surname(hogosha_kana)) as parent_surname_kana_key,
        hogosha_seinengappi as parent_birth_date,
        jido_shimei as child_name,
        os_name_display(jido_shimei) as child_name_display,
        os_name_key(jido_shimei) as child_name_key,
        os_kana_display(jido_kana) as child_name_kana,
        os_kana_key(jido_kana) as child_name_kana_key,
        os_kana_key(os_surname(jido_kana)) as child_surname_kana_key,
        jido_seinengappi as child_birth_date,
        jido_atena_bango as child_atena_bango,
        jusho as address_written,
        address.in_city as address_in_city,
        address.canonical as address_canonical,
        address.key as address_key,
        address.town,
        address.katagaki,
        os_phone_key(denwa) as phone_key,
        daiichi_kibo_en as first_choice_nursery,
        biko as note,
        _delivery_date as delivered_on,
        _loaded_at as loaded_at,
        _file as source_file,
        _line as source_line
    from normalized
)

select * from final
