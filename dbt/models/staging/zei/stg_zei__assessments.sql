{{ config(unique_key='assessment_key') }}
with

source as (
    select * from {{ source('bronze', 'zei__kazei_current') }}
    {{ only_new_deliveries() }}
),

normalized as (
    select *, os_era7(seinengappi) as birth, os_address(jusho) as address
    from source
),

final as (
    select
        nendo::varchar || ':' || atena_bango as assessment_key,
        nendo as fiscal_year,
        atena_bango,
        starts_with(atena_bango, '9') as is_non_resident,
        shimei as name,
        {{ person_name_columns('shimei', 'shimei_kana') }},
        seinengappi as birth_date_era7,
        {{ birth_columns('birth') }},
        seibetsu as sex_code,
        case seibetsu when '1' then '男' when '2' then '女' end as sex,
        jusho as address_registered,
        address.in_city as address_in_city,
        address.canonical as address_canonical,
        address.key as address_key,
        address.town,
        address.katagaki,
        sogokei_shotoku as total_income_yen,
        shotokuwari as income_levy_yen,
        kintowari as per_capita_levy_yen,
        kazei_kubun as taxation_code,
        case kazei_kubun when '1' then '課税' when '2' then '均等割のみ' when '3' then '非課税' end as taxation,
        fuyo_ninzu as dependants,
        koshin_ymd as updated_on,
        _delivery_date as delivered_on,
        _loaded_at as loaded_at,
        _file as source_file,
        _line as source_line
    from normalized
)

select * from final
