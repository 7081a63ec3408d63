{#- 子育て支援課: households that appear entitled to 児童手当 and have not claimed it (push-type outreach).

    Entitled: a resident household raising a child up to 31 March of the school year in which the child turns
    18 (macro child_allowance_until; no income limit since October 2024). Outreach needs an event the city
    saw: such a child became a resident (birth or move-in, 住民となった日) on or after the first day of the
    procedure log, so the log would hold the claim; and no member of the household has filed
    児童手当認定請求 (front desk, online or post) since that day. Households whose children were residents
    before the log began are not listed: whether they claim is not in the data the city holds here. A claim
    is due within 15 days of the event (15日特例); the reason says how many days have passed. -#}
with

as_of as (
    select {{ as_of_date() }} as as_of_date
),

log_start as (
    select min(received_at)::date as log_start from {{ ref('stg_madoguchi__procedures') }}
),

became as (  -- the date each resident became a resident, from the registry record in force
    select m.person_id, r.became_resident_date
    from {{ ref('stg_juki__residents') }} r
    join {{ ref('stg_identity__person_membership') }} m on m.unique_id = 'juki|' || r.atena_bango
    where r.resident_status_code = '1'
    qualify row_number() over (partition by m.person_id order by r.updated_at desc nulls last) = 1
),

children as (
    select
        p.person_id,
        p.household_id,
        b.became_resident_date,
        case when b.became_resident_date = p.birth_date then '出生' else '転入' end as event,
        {{ child_allowance_until('p.birth_year', 'p.birth_month', 'day(p.birth_date)') }} as entitled_until
    from {{ ref('dim_person') }} p
    join became b using (person_id)
    cross join as_of
    where p.status = 'resident' and p.household_id is not null and p.birth_year is not null
        and make_date(p.birth_year, coalesce(p.birth_month, 1), coalesce(day(p.birth_date), 1)) <= as_of.as_of_date
),

entitled as (
    select
        c.household_id,
        count(*) as children_entitled,
        max(c.became_resident_date) as event_date,
        arg_max(c.event, c.became_resident_date) as event,
        min(c.entitled_until) as earliest_end
    from children c
    cross join as_of
    cross join log_start
    where c.entitled_until >= as_of.as_of_date
    group by c.household_id
    having max(c.became_resident_date) >= any_value(log_start.log_start)
),

claimed as (
    select distinct p.household_id
    from {{ ref('mart_once_only_procedures') }} o
    join {{ ref('dim_person') }} p using (person_id)
    cross join log_start
    where o.procedure_name = '児童手当認定請求' and p.household_id is not null
        and o.received_at::date >= log_start.log_start
),

final as (
    select
        e.household_id,
        h.head_person_id,
        h.head_name,
        h.address,
        h.town,
        h.members,
        e.children_entitled,
        e.event,
        e.event_date,
        e.event_date + 15 as claim_due,
        e.event || '（' || strftime(e.event_date, '%Y-%m-%d') || '）で児童手当の対象となる子がいる世帯（対象の子 '
        || e.children_entitled || '人）。' || strftime(l.log_start, '%Y-%m-%d') || '以降、世帯員からの児童手当認定請求なし（'
        || date_diff('day', e.event_date, a.as_of_date) || '日経過、請求期限 '
        || strftime(e.event_date + 15, '%Y-%m-%d') || '）。' as reason,
        a.as_of_date as data_date
    from entitled e
    join {{ addressed_households() }} h using (household_id)
    cross join as_of a
    cross join log_start l
    where e.household_id not in (select household_id from claimed)
)

select * from final
