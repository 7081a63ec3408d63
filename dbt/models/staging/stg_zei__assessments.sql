with

source as (
    select * from {{ source('bronze', 'zei__kazei_current') }}
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
        os_name_display(shimei) as name_display,
        os_name_key(shimei) as name_key,
        os_name_key(os_surname(shimei)) as surname_key,
        os_name_key(os_given_name(shimei)) as given_name_key,
        os_kana_display(shimei_kana) as name_kana,
        os_kana_key(shimei_kana) as name_kana_key,
        os_kana_key(os_surname(shimei_kana)) as surname_kana_key,
        os_kana_key(os_given_name(shimei_kana)) as given_name_kana_key,
        seinengappi as birth_date_era7,
        birth.date as birth_date,
        birth.year as birth_year,
        birth.month as birth_month,
        birth.day as birth_day,
        birth.precision as birth_date_precision,
        seibetsu as sex_code,
        case seibetsu when '1' then '男' when '2' then '女' end as sex,
        jusho as address_registered,
        address.in_city as address_in_city,
        address.canonical as address_canonical,
        address.key as address_key,
        address.town as town,
        address.katagaki as katagaki,
        sogokei_shotoku as total_income_yen,
        shotokuwari as income_levy_yen,
        kintowari as per_capita_levy_yen,
        kazei_kubun as taxation_code,
        case kazei_kubun when '1' then '課税' when '2' then '均等割のみ' when '3' then '非課税' end as taxation,
        fuyo_ninzu as dependants,
        koshin_ymd as updated_on,
        _delivery_date as delivered_on,
        _file as source_file,
        _line as source_line
    from normalized
)

select * from final
