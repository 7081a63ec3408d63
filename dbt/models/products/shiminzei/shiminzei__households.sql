{#- 市民税課: one row per household and fiscal year: how its members are assessed. -#}
select
    fiscal_year,
    household_id,
    town,
    members_assessed,
    members_taxed,
    total_income_yen,
    total_levy_yen,
    all_members_exempt
from {{ ref('mart_resident_tax_by_household') }}
