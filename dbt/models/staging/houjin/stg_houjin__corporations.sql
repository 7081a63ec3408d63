{{ config(unique_key='houjin_bango') }}
with

source as (
    select * from {{ source('bronze', 'houjin__hojin_current') }}
    {{ only_new_deliveries() }}
),

history as (  -- the names the NTA published for the number before its current one (商号変更)
    select
        versions.corporate_number,
        list_sort(list(distinct os_company(versions.name).core)) as former_core_names
    from {{ bronze_versions('houjin__hojin') }} as versions
    inner join source on versions.corporate_number = source.corporate_number
    where os_company(versions.name).core is distinct from os_company(source.name).core
    group by versions.corporate_number
),

normalized as (
    select
        source.*, history.former_core_names,
        os_company(source.name) as company,
        os_address(source.city_name || coalesce(source.street_number, '')) as address
    from source
    left join history using (corporate_number)
),

final as (
    select
        corporate_number as houjin_bango,
        name as corporate_name,
        company.core as name_core_key,
        former_core_names as former_name_core_keys,
        company.form as legal_form,
        company.form_position as legal_form_position,
        furigana as name_kana,
        os_kana_key(furigana) as name_kana_key,
        kind as kind_code,
        process as process_code,
        prefecture_name,
        city_name,
        street_number,
        prefecture_code || city_code as local_government_code,
        post_code as postal_code,
        address.in_city and prefecture_name = '千葉県' as located_in_city,
        address.canonical as address_canonical,
        address.key as address_key,
        address.outside_key as outside_address_key,
        address.town,
        close_date as closed_on,
        close_cause as close_cause_code,
        successor_corporate_number as successor_houjin_bango,
        assignment_date as assigned_on,
        update_date as updated_on,
        latest = '1' as is_latest,
        hihyoji = '1' as is_hidden,
        _delivery_date as delivered_on,
        _loaded_at as loaded_at,
        _file as source_file,
        _line as source_line
    from normalized
)

select * from final
