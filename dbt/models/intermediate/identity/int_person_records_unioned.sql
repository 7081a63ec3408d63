{#- One row per source record that describes a person, in one shape, for linkage.
    source_record_key is exactly the key of the spec's truth files. -#}
with

juki as (
    select
        'juki' as source_system, atena_bango as source_record_key,
        atena_bango, kojin_bango_token, setai_bango,
        name_key, surname_key, given_name_key, name_kana_key, surname_kana_key, given_name_kana_key,
        former_surname_key,
        birth_year, birth_month, birth_day, sex_code, address_key, town, null::varchar as phone_key,
        updated_at::timestamp as observed_at, address_canonical
    from {{ ref('stg_juki__residents') }}
),

zei as (
    select
        'zei', assessment_key,
        atena_bango, null, null,
        name_key, surname_key, given_name_key, name_kana_key, surname_kana_key, given_name_kana_key,
        null,
        birth_year, birth_month, birth_day, sex_code, address_key, town, null,
        updated_on::timestamp, address_canonical
    from {{ ref('stg_zei__assessments') }}
),

kokuho as (
    select
        'kokuho', hihokensha_bango,
        atena_bango, null, setai_bango,
        name_key, surname_key, given_name_key, name_kana_key, surname_kana_key, given_name_kana_key,
        null,
        birth_year, birth_month, birth_day, sex_code, null, null, null,
        updated_at::timestamp, null
    from {{ ref('stg_kokuho__enrolments') }}
),

kosodate_parent as (
    select
        'kosodate', moushikomi_bango || ':保護者',
        null, null, null,
        parent_name_key, os_name_key(os_surname(parent_name)), os_name_key(os_given_name(parent_name)),
        parent_name_kana_key, parent_surname_kana_key, os_kana_key(os_given_name(parent_name_kana)),
        null,
        year(parent_birth_date), month(parent_birth_date), day(parent_birth_date), null, address_key, town,
        phone_key,
        applied_on::timestamp, address_canonical
    from {{ ref('stg_kosodate__applications') }}
),

kosodate_child as (
    select
        'kosodate', moushikomi_bango || ':児童',
        child_atena_bango, null, null,
        child_name_key, os_name_key(os_surname(child_name)), os_name_key(os_given_name(child_name)),
        child_name_kana_key, child_surname_kana_key, os_kana_key(os_given_name(child_name_kana)),
        null,
        year(child_birth_date), month(child_birth_date), day(child_birth_date), null, address_key, town, null,
        applied_on::timestamp, address_canonical
    from {{ ref('stg_kosodate__applications') }}
),

hojokin as (
    select
        'hojokin', shinsei_bango,
        null, kojin_bango_token, null,
        name_key, surname_key, os_name_key(os_given_name(applicant_name)), name_kana_key, surname_kana_key, null,
        null,
        birth_year, birth_month, birth_day, null, address_key, town, phone_key,
        updated_at::timestamp, address_canonical
    from {{ ref('stg_hojokin__applications') }}
    where applicant_kind = 'kojin'
),

madoguchi as (
    select
        'madoguchi', uketsuke_bango,
        atena_bango, null, null,
        null, null, null, null, null, null,
        null,
        null, null, null, null, null, null, null,
        received_at, null
    from {{ ref('stg_madoguchi__procedures') }}
    where atena_bango is not null or uketsuke_bango in (
        select record_key from {{ ref('stg_quarantine__field_issues') }}
        where system = 'madoguchi' and field = 'atena_bango'
    )
),

unioned as (
    select * from juki
    union all
    select * from zei
    union all
    select * from kokuho
    union all
    select * from kosodate_parent
    union all
    select * from kosodate_child
    union all
    select * from hojokin
    union all
    select * from madoguchi
),

final as (
    select
        source_system || '|' || source_record_key as unique_id,
        *,
        case when birth_year is not null and birth_month is not null and birth_day is not null
            then make_date(birth_year, birth_month, birth_day)::varchar end as birth_date,
        case when given_name_kana_key is not null then given_name_kana_key end as given_kana_for_blocking
    from unioned
)

select * from final
