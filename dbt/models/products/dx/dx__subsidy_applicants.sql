{#- DX推進課 電子申請担当: one row per applicant and subsidy programme. -#}
select
    applicant_id,
    applicant_kind,
    programme_code,
    programme_name,
    applications,
    amount_requested_yen,
    granted,
    pending,
    first_applied_at,
    last_applied_at
from {{ ref('mart_subsidies_by_applicant') }}
