{#- The charter's three milestones by month over all 拠点: one-stop (one-stop rate of window cases),
    once-only (once-only rate) and the electronic city hall (online share), each against its target, with the
    latest month marked. Targets are project variables (dbt_project.yml: onestop_target, onceonly_target,
    online_target). -#}
with

totals as (
    select
        k.month,
        sum(k.one_stop_cases) / nullif(sum(k.window_cases_finished), 0) as one_stop_rate,
        1 - sum(k.fields_already_held) / nullif(sum(k.fields_entered), 0) as once_only_rate,
        sum(k.online_procedures) / sum(k.procedures) as online_share
    from {{ ref('mart_dx_kpi_monthly') }} k
    group by k.month
),

final as (
    select month, 'ワンストップ' as milestone, 'one_stop_rate' as kpi, one_stop_rate as value,
        {{ var('onestop_target') }} as target from totals
    union all by name
    select month, 'ワンスオンリー' as milestone, 'once_only_rate' as kpi, once_only_rate as value,
        {{ var('onceonly_target') }} as target from totals
    union all by name
    select month, '電子市役所' as milestone, 'online_share' as kpi, online_share as value,
        {{ var('online_target') }} as target from totals
)

select month, milestone, kpi, value, target::double as target,
    case when value >= target then 'achieved' else 'in_progress' end as status,
    month = max(month) over () as is_latest
from final
