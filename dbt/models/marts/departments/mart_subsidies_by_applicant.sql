with

applications as (
    select a.*
    from {{ ref('int_hojokin_applicants') }} a
),

final as (
    select
        applicant_id,
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
