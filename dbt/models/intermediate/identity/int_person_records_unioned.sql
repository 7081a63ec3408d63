{#- One row per source record that describes a person, in one shape, for linkage.
    source_record_key is exactly the key of the spec's truth files. -#}
with

juki as (
    select
        'juki' as source_system, atena_bango as source_record_key, source_file, source_line,
        atena_bango, kojin_bango_token, setai_bango,
        name_key, surname_key, given_name_key, name_kana_key, surname_kana_key, given_name_kana_key,
        former_surname_key,
        birth_year, birth_month, birth_day, sex_code, address_key, town, null::varchar as phone_key,
        updated_at::timestamp as observed_at, address_canonical
    from {{ ref('stg_juki__residents') }}
),

zei as (
    select
        'zei' as source_system, assessment_key as source_record_key, source_file, source_line,
        atena_bango,
        name_key, surname_key, given_name_key, name_kana_key, surname_kana_key, given_name_kana_key,
        birth_year, birth_month, birth_day, sex_code, address_key, town,
        updated_on::timestamp as observed_at, address_canonical
    from {{ ref('stg_zei__assessments') }}
),

kokuho as (
    select
        'kokuho' as source_system, hihokensha_bango as source_record_key, source_file, source_line,
        atena_bango, setai_bango,
        name_key, surname_key, given_name_key, name_kana_key, surname_kana_key, given_name_kana_key,
        birth_year, birth_month, birth_day, sex_code,
        updated_at::timestamp as observed_at
    from {{ ref('stg_kokuho__enrolments') }}
),

kosodate_parent as (
    select
        'kosodate' as source_system, moushikomi_bango || ':保護者' as source_record_key, source_file, source_line,
        parent_name_key as name_key, os_name_key(os_surname(parent_name)) as surname_key,
        os_name_key(os_given_name(parent_name)) as given_name_key,
        parent_name_kana_key as name_kana_key, parent_surname_kana_key as surname_kana_key,
        os_kana_key(os_given_name(parent_name_kana)) as given_name_kana_key,
        year(parent_birth_date) as birth_year, month(parent_birth_date) as birth_month,
        day(parent_birth_date) as birth_day, address_key, town, phone_key,
        applied_on::timestamp as observed_at, address_canonical
    from {{ ref('stg_kosodate__applications') }}
),

kosodate_child as (
    select
        'kosodate' as source_system, moushikomi_bango || ':児童' as source_record_key, source_file, source_line,
        child_atena_bango as atena_bango,
        child_name_key as name_key, os_name_key(os_surname(child_name)) as surname_key,
        os_name_key(os_given_name(child_name)) as given_name_key,
        child_name_kana_key as name_kana_key, child_surname_kana_key as surname_kana_key,
        os_kana_key(os_given_name(child_name_kana)) as given_name_kana_key,
        year(child_birth_date) as birth_year, month(child_birth_date) as birth_month,
        day(child_birth_date) as birth_day, address_key, town,
        applied_on::timestamp as observed_at, address_canonical
    from {{ ref('stg_kosodate__applications') }}
),

hojokin as (
    select
        'hojokin' as source_system, shinsei_bango as source_record_key, source_file, source_line,
        kojin_bango_token,
        name_key, surname_key, os_name_key(os_given_name(applicant_name)) as given_name_key, name_kana_key,
        surname_kana_key,
        birth_year, birth_month, birth_day, address_key, town, phone_key,
        updated_at::timestamp as observed_at, address_canonical
    from {{ ref('stg_hojokin__applications') }}
    where applicant_kind = 'kojin'
),

madoguchi as (
    select
        'madoguchi' as source_system, uketsuke_bango as source_record_key, source_file, source_line,
        atena_bango,
        received_at as observed_at
    from {{ ref('stg_madoguchi__procedures') }}
    where atena_bango is not null or uketsuke_bango in (
        select record_key from {{ ref('stg_quarantine__field_issues') }}
        where system = 'madoguchi' and field = 'atena_bango'
    )
),

unioned as (  -- by name: a source without a column leaves it null; juki, which has them all, sets the order
    select * from juki
    union all by name
    select * from zei
    union all by name
    select * from kokuho
    union all by name
    select * from kosodate_parent
    union all by name
    select * from kosodate_child
    union all by name
    select * from hojokin
    union all by name
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
