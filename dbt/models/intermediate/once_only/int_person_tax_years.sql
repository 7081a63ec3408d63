{#- One row per person and fiscal year with a resident-tax assessment the city held. -#}
select distinct x.person_id, z.fiscal_year
from {{ ref('stg_zei__assessments') }} z
join {{ ref('person_source_xref') }} x on x.source_system = 'zei' and x.source_record_key = z.assessment_key
