{#- One row per subsidy application: what the city already held when it came in, so what could have been
    prefilled (the applicant's own name, address and birth date) or skipped (attachments). -#}
with

attachments as (
    select shinsei_bango, count(*) as attachments_submitted, count(*) filter (where held_by_city) as attachments_held
    from {{ ref('mart_once_only_attachments') }} group by all
),

applications as (
    select a.shinsei_bango, a.programme_code, a.applied_at, a.applicant_kind, a.applicant_id, a.person_id
    from {{ ref('int_hojokin_applicants') }} a
),

final as (
    select
        a.shinsei_bango,
        a.programme_code,
        a.applied_at,
        a.applicant_kind,
        a.applicant_id,
        coalesce(p.status = 'resident' and p.name is not null, false) as name_held,
        coalesce(p.status = 'resident' and p.address is not null, false) as address_held,
        coalesce(p.birth_date_precision = 'day', false) as birth_date_held,
        coalesce(t.attachments_submitted, 0) as attachments_submitted,
        coalesce(t.attachments_held, 0) as attachments_held
    from applications a
    left join {{ ref('dim_person') }} p using (person_id)
    left join attachments t using (shinsei_bango)
)

select * from final
