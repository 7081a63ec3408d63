{#- One row per attachment submitted with a subsidy application, and whether the city already held it
    when the application came in (so it could have been skipped):
    住民票の写し   the applicant was registered in the resident registry on that day;
    課税証明書, 納税証明書  the applicant had a resident-tax assessment for the fiscal year (tax year starts in June);
    登記事項証明書 the business applicant has a 法人番号 in the NTA's register. -#}
with

applications as (
    select a.*,
        case when month(a.applied_at) >= 6 then year(a.applied_at) else year(a.applied_at) - 1 end as tax_year
    from {{ ref('int_hojokin_applicants') }} a
),

attachments as (
    select a.*, unnest(from_json(a.attachments_json, '[{"shurui": "VARCHAR"}]')).shurui as attachment
    from applications a
),

registered as (
    select * from {{ ref('int_person_registrations') }}
),

assessed as (
    select * from {{ ref('int_person_tax_years') }}
),

corporations as (
    select distinct x.business_id
    from {{ ref('business_source_xref') }} x where x.source_system = 'houjin'
),

flags as (
    select
        t.*,
        exists(select 1 from registered r where r.person_id = t.person_id
                and coalesce(r.became_resident_date, date '1900-01-01') <= t.applied_at::date
                and (r.resident_status_code = '1' or r.change_date >= t.applied_at::date)) as in_registry,
        exists(select 1 from assessed s where s.person_id = t.person_id and s.fiscal_year = t.tax_year) as assessed,
        exists(select 1 from corporations c where c.business_id = t.business_id) as in_corporate_register
    from attachments t
),

final as (
    select
        shinsei_bango,
        programme_code,
        applied_at,
        applicant_kind,
        applicant_id,
        attachment,
        case attachment
            when '住民票の写し' then in_registry
            when '課税証明書' then assessed
            when '納税証明書' then assessed
            when '登記事項証明書' then in_corporate_register
            else false
        end as held_by_city,
        case attachment
            when '住民票の写し' then '住民記録'
            when '課税証明書' then '課税台帳'
            when '納税証明書' then '課税台帳'
            when '登記事項証明書' then '法人番号公表データ'
        end as held_in
    from flags
)

select * from final
