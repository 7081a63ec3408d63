{#- One row per resident-tax assessment with the person it belongs to: the one place the 課税台帳 is joined
    to the one source, for the tax marts and the once-only marts. -#}
select z.*, x.person_id
from {{ ref('stg_zei__assessments') }} z
join {{ ref('stg_identity__person_membership') }} x on x.source_system = 'zei' and x.source_record_key = z.assessment_key
