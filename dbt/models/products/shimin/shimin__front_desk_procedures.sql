{#- 市民課: one row per front-desk or online procedure received, with what the city already held (once-only). -#}
with

procedures as (
    select * from {{ ref('mart_once_only_procedures') }}
),

final as (
    select
        uketsuke_bango,
        received_at,
        office,
        channel,
        procedure_code,
        procedure_name,
        person_id,
        prefillable_fields,
        fields_entered,
        fields_already_held,
        documents_submitted
    from procedures
)

select * from final
