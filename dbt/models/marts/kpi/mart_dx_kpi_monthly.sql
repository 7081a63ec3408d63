{#- DX KPIs by month and 拠点, from the front-desk log.
    one-stop rate        cases handled at a window that finished in one visit at one 拠点 / such cases finished
    once-only rate       1 - fields the city already held but were entered again / all fields entered
    online share         procedures received online / all procedures
    after-hours share    online procedures received outside 8:45-17:15 on weekdays, or at weekends / online procedures
    median lead time     hours from receipt to completion, completed procedures
    visits per case      visits to the city hall per case handled at a window
    A case belongs to the month and 拠点 of its first procedure. -#}
with

procedures as (
    select *, date_trunc('month', received_at)::date as month
    from {{ ref('stg_madoguchi__procedures') }}
    where received_at is not null
),

cases as (
    select
        case_number,
        arg_min(month, received_at) as month,
        arg_min(office, received_at) as office,
        bool_or(channel = '窓口') as at_window,
        count(distinct office) as offices,
        sum(visits) as visits,
        bool_and(completed_at is not null) as finished
    from procedures
    group by case_number
),

case_kpis as (
    select month, office,
        count(*) filter (where at_window) as window_cases,
        count(*) filter (where at_window and finished) as window_cases_finished,
        count(*) filter (where at_window and finished and offices = 1 and visits <= 1) as one_stop_cases,
        sum(visits) filter (where at_window) as window_visits
    from cases group by all
),

procedure_kpis as (
    select month, office,
        count(*) as procedures,
        count(*) filter (where channel = 'オンライン') as online_procedures,
        count(*) filter (where channel = 'オンライン' and (dayofweek(received_at) in (0, 6)
            or received_at::time < time '08:45' or received_at::time >= time '17:15')) as after_hours_online,
        sum(fields_entered) as fields_entered,
        sum(fields_already_held) as fields_already_held,
        median(date_diff('second', received_at, completed_at) / 3600.0)
            filter (where completed_at is not null) as median_lead_time_hours
    from procedures group by all
),

final as (
    select
        p.month,
        p.office,
        p.procedures,
        p.online_procedures,
        p.after_hours_online,
        p.fields_entered,
        p.fields_already_held,
        coalesce(c.window_cases, 0) as window_cases,
        coalesce(c.window_cases_finished, 0) as window_cases_finished,
        coalesce(c.one_stop_cases, 0) as one_stop_cases,
        coalesce(c.window_visits, 0) as window_visits,
        c.one_stop_cases / nullif(c.window_cases_finished, 0) as one_stop_rate,
        1 - p.fields_already_held / nullif(p.fields_entered, 0) as once_only_rate,
        p.online_procedures / p.procedures as online_share,
        p.after_hours_online / nullif(p.online_procedures, 0) as after_hours_online_share,
        p.median_lead_time_hours,
        c.window_visits / nullif(c.window_cases, 0) as visits_per_case
    from procedure_kpis p
    left join case_kpis c using (month, office)
)

select * from final
