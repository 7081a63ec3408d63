{#- One row per subsidy application with its applicant's person_id (kojin) or business_id (hojin). -#}
select
    a.*,
    xp.person_id,
    xb.business_id,
    coalesce(xp.person_id, xb.business_id) as applicant_id
from {{ ref('stg_hojokin__applications') }} a
left join {{ ref('stg_identity__person_membership') }} xp
    on a.applicant_kind = 'kojin' and xp.source_system = 'hojokin' and xp.source_record_key = a.shinsei_bango
left join {{ ref('stg_identity__business_membership') }} xb
    on a.applicant_kind = 'hojin' and xb.source_system = 'hojokin' and xb.source_record_key = a.shinsei_bango
