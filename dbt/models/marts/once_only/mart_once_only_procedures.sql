{#- One row per front-desk or online procedure with a 宛名番号: what the city already held about the
    person when the procedure was received (so the form could have been prefilled), next to what the
    log says was entered again. -#}
with

procedures as (
    select m.*, x.person_id
    from {{ ref('stg_madoguchi__procedures') }} m
    join {{ ref('person_source_xref') }} x on x.source_system = 'madoguchi' and x.source_record_key = m.uketsuke_bango
),

registered as (
    select * from {{ ref('int_person_registrations') }}
),

assessed as (
    select * from {{ ref('int_person_tax_years') }}
),

flags as (
    select
        p.*,
        exists(select 1 from registered r where r.person_id = p.person_id
                and coalesce(r.became_resident_date, date '1900-01-01') <= p.received_at::date
                and (r.resident_status_code = '1' or r.change_date >= p.received_at::date)) as in_registry,
        exists(select 1 from assessed s where s.person_id = p.person_id
                and s.fiscal_year = case when month(p.received_at) >= 6 then year(p.received_at)
                                         else year(p.received_at) - 1 end) as tax_record_held
    from procedures p
),

final as (
    select
        f.uketsuke_bango,
        f.case_number,
        f.received_at,
        f.office,
        f.channel,
        f.procedure_code,
        f.procedure_name,
        f.person_id,
        f.in_registry as name_held,
        f.in_registry as address_held,
        f.in_registry and d.birth_date_precision = 'day' as birth_date_held,
        f.tax_record_held,
        (f.in_registry::int * 2 + (f.in_registry and d.birth_date_precision = 'day')::int) as prefillable_fields,
        f.fields_entered,
        f.fields_already_held,
        f.documents_submitted
    from flags f
    left join {{ ref('dim_person') }} d using (person_id)
)

select * from final
