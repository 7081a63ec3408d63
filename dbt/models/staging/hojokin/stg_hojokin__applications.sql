{{ config(unique_key='shinsei_bango') }}
with

source as (
    select * from {{ source('bronze', 'hojokin__shinsei_current') }}
    {{ only_new_deliveries() }}
),

normalized as (
    select
        *,
        os_address(coalesce(jusho_todofuken, '') || coalesce(jusho_shikuchoson, '') || coalesce(jusho_banchi, ''))
            as address,
        os_company(shinseisha_shimei_or_meisho) as company
    from source
),

final as (
    select
        shinsei_bango,
        seido_code as programme_code,
        seido_mei as programme_name,
        shinsei_nichiji as applied_at,
        shinseisha_kubun as applicant_kind,
        shinseisha_shimei_or_meisho as applicant_name,
        case when shinseisha_kubun = 'kojin' then os_name_key(shinseisha_shimei_or_meisho) end as name_key,
        case when shinseisha_kubun = 'kojin' then os_name_key(os_surname(shinseisha_shimei_or_meisho)) end
            as surname_key,
        case when shinseisha_kubun = 'kojin' then os_kana_key(shinseisha_kana) end as name_kana_key,
        case when shinseisha_kubun = 'kojin' then os_kana_key(os_surname(shinseisha_kana)) end as surname_kana_key,
        case when shinseisha_kubun = 'hojin' then company.core end as name_core_key,
        case when shinseisha_kubun = 'hojin' then company.form end as legal_form,
        case when shinseisha_kubun = 'hojin' then os_kana_key(shinseisha_kana) end as corporate_name_kana_key,
        shinseisha_seinengappi as birth_date,
        year(shinseisha_seinengappi) as birth_year,
        month(shinseisha_seinengappi) as birth_month,
        day(shinseisha_seinengappi) as birth_day,
        shinseisha_houjin_bango as houjin_bango,
        shinseisha_daihyosha as representative_name,
        jusho_yubin as postal_code,
        address.in_city as address_in_city,
        address.canonical as address_canonical,
        address.key as address_key,
        address.outside_key as outside_address_key,
        address.town,
        coalesce(jusho_tatemono, address.katagaki) as katagaki,
        os_phone_key(shinseisha_denwa) as phone_key,
        shinseisha_mail as email,
        kojin_bango_token,
        shinsei_kingaku as amount_yen,
        tenpu_shorui as attachments_json,
        shinsa_status as review_status,
        updated_at,
        _overflow as extra_fields,
        _delivery_date as delivered_on,
        _loaded_at as loaded_at,
        _file as source_file,
        _line as source_line
    from normalized
)

select * from final
