{#- 保育課: applications and resident children per fiscal year, area and age class (aggregates). -#}
select fiscal_year, town, age_class, applications, resident_children
from {{ ref('mart_nursery_waiting_list') }}
