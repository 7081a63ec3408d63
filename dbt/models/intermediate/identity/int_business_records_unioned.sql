{#- One row per source record that describes a business, in one shape, for linkage.
    source_record_key is exactly the key of the spec's truth files. address_key is the city's town|丁目|番|号
    key, or for a business outside the city its outside key (外|…), so that a vendor in 船橋市 is matched by
    its address too. -#}
with

houjin as (
    select
        'houjin' as source_system, houjin_bango as source_record_key, source_file, source_line, houjin_bango,
        name_core_key, former_name_core_keys, name_kana_key, legal_form,
        coalesce(address_key, outside_address_key) as address_key, town, null::varchar as phone_key,
        corporate_name as name, located_in_city, updated_on::timestamp as observed_at
    from {{ ref('stg_houjin__corporations') }}
),

keiyaku as (
    select
        'keiyaku' as source_system, vendor_key as source_record_key, source_file, source_line, houjin_bango,
        name_core_key, name_kana_key, legal_form,
        coalesce(address_key, outside_address_key) as address_key, town, phone_key,
        trade_name as name, located_in_city, updated_at::timestamp as observed_at
    from {{ ref('stg_keiyaku__vendors') }}
),

hojokin as (
    select
        'hojokin' as source_system, shinsei_bango as source_record_key, source_file, source_line, houjin_bango,
        name_core_key, corporate_name_kana_key as name_kana_key, legal_form,
        coalesce(address_key, outside_address_key) as address_key, town, phone_key,
        applicant_name as name, address_in_city as located_in_city, updated_at::timestamp as observed_at
    from {{ ref('stg_hojokin__applications') }}
    where applicant_kind = 'hojin'
),

unioned as (  -- by name, in the order of the NTA register's columns
    select * from houjin
    union all by name
    select * from keiyaku
    union all by name
    select * from hojokin
)

select source_system || '|' || source_record_key as unique_id, * from unioned
