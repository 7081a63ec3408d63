{{ config(unique_key='hihokensha_bango') }}
with

source as (
    select * from {{ source('bronze', 'kokuho__shikaku_current') }}
    {{ only_new_deliveries() }}
),

final as (
    select
        hihokensha_bango,
        kigo as insurance_symbol,
        atena_bango,
        setai_bango,
        shimei as name,
        {{ person_name_columns('shimei', 'shimei_kana') }},
        seinengappi as birth_date,
        year(seinengappi) as birth_year,
        month(seinengappi) as birth_month,
        day(seinengappi) as birth_day,
        case when seinengappi is not null then 'day' end as birth_date_precision,
        seibetsu as sex,
        case seibetsu when '男' then '1' when '女' then '2' end as sex_code,
        shikaku_shutoku_ymd as enrolled_on,
        shikaku_soshitsu_ymd as left_on,
        soshitsu_jiyu as leaving_reason,
        shikaku_soshitsu_ymd is null as is_enrolled,
        updated_at,
        _overflow as extra_fields,
        _delivery_date as delivered_on,
        _loaded_at as loaded_at,
        _file as source_file,
        _line as source_line
    from source
)

select * from final
