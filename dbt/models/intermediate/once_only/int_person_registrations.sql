{#- One row per resident-registry record of a person: when the city held the person's 住民票. -#}
select x.person_id, j.became_resident_date, j.resident_status_code, j.change_date
from {{ ref('stg_juki__residents') }} j
join {{ ref('stg_identity__person_membership') }} x on x.source_system = 'juki' and x.source_record_key = j.atena_bango
