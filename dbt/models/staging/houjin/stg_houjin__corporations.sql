{{ config(unique_key='houjin_bango') }}
with

source as (
    select * from {{ source('bronze', 'houjin__hojin_current') }}
    {{ only_new_deliveries() }}
),

normalized as (
    select *, os_company(name) as company, os_address(city_name || coalesce(street_number, '')) as address
    from source
),

history as (  -- every name the NTA ever published for the number (商号変更 leaves the old one in older rows)
    select corporate_number, list(distinct os_company(name).core) as core_names
    from {{ bronze_versions('houjin__hojin') }}
    where corporate_number in (select corporate_number from source)
    group by corporate_number
),

final as (
    select
        corporate_number as houjin_bango,
        name as corporate_name,
        company.core as name_core_key,
        list_sort(list_filter(h.core_names, n -> n is distinct from company.core)) as former_name_core_keys,
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
    left join history h using (corporate_number)
)

select * from final
