{{ config(unique_key='atena_bango') }}
with

source as (
    select * from {{ source('bronze', 'juki__jumin_current') }}
    {{ only_new_deliveries() }}
),

normalized as (
    select
        *,
        os_era7(seinengappi) as birth,
        os_era7(jumin_ymd) as became_resident,
        os_address(jusho) as address
    from source
),

final as (
    select
        atena_bango,
        setai_bango,
        kojin_bango_token,
        shimei as name,
        {{ person_name_columns('shimei', 'shimei_kana') }},
        shimei like '%〓%' as name_has_gaiji,
        kyuuji as former_surname,
        os_name_key(kyuuji) as former_surname_key,
        seinengappi as birth_date_era7,
        {{ birth_columns('birth') }},
        seibetsu as sex_code,
        case seibetsu when '1' then '男' when '2' then '女' end as sex,
        zokugara as relation_to_head,
        yubin_bango as postal_code,
        jusho as address_registered,
        address.canonical as address_canonical,
        address.key as address_key,
        address.town,
        address.chome,
        address.ban,
        address.go,
        katagaki,
        became_resident.date as became_resident_date,
        os_era7(jutei_ymd).date as settled_date,
        jumin_jotai as resident_status_code,
        case jumin_jotai when '1' then '住民' when '2' then '転出' when '3' then '死亡' when '4' then '職権消除' end
            as resident_status,
        ido_jiyu as change_reason_code,
        ido_ymd as change_date,
        todoke_ymd as notified_date,
        koshin_nichiji as updated_at,
        _delivery_date as delivered_on,
        _loaded_at as loaded_at,
        _file as source_file,
        _line as source_line
    from normalized
)

select * from final
