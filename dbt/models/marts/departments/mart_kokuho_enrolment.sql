with

enrolments as (
    select k.*, x.person_id
    from {{ ref('stg_kokuho__enrolments') }} k
    join {{ ref('person_source_xref') }} x
        on x.source_system = 'kokuho' and x.source_record_key = k.hihokensha_bango
),

final as (
    select
        e.hihokensha_bango,
        e.person_id,
        p.household_id,
        p.town,
        {{ age_on(as_of_date(), 'p.birth_year', 'p.birth_month', 'null') }}::integer as age,
        e.enrolled_on,
        e.left_on,
        e.leaving_reason,
        e.is_enrolled,
        p.status as resident_status
    from enrolments e
    join {{ ref('dim_person') }} p using (person_id)
)

select * from final
