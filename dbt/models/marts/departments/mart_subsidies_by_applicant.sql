with

applications as (
    select a.*, xp.person_id, xb.business_id
    from {{ ref('stg_hojokin__applications') }} a
    left join {{ ref('person_source_xref') }} xp
        on a.applicant_kind = 'kojin' and xp.source_system = 'hojokin' and xp.source_record_key = a.shinsei_bango
    left join {{ ref('business_source_xref') }} xb
        on a.applicant_kind = 'hojin' and xb.source_system = 'hojokin' and xb.source_record_key = a.shinsei_bango
),

final as (
    select
        coalesce(person_id, business_id) as applicant_id,
        applicant_kind,
        programme_code,
        max(programme_name) as programme_name,
        count(*)::integer as applications,
        sum(amount_yen)::bigint as amount_requested_yen,
        count(*) filter (where review_status = '交付決定')::integer as granted,
        count(*) filter (where review_status in ('受付', '審査中'))::integer as pending,
        min(applied_at) as first_applied_at,
        max(applied_at) as last_applied_at
    from applications
    group by all
)

select * from final
