{#- One row per person and fiscal year with a resident-tax assessment the city held. -#}
select distinct person_id, fiscal_year
from {{ ref('int_zei_assessments_linked') }}
