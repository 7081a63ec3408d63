{#- 市民税課: households that appear entitled to the benefit for 住民税非課税世帯 (push-type: the city sends
    each a 確認書 instead of waiting for an application).

    Entitled: a current household of the registry in which every member the city assessed for the newest
    fiscal year is exempt from the per-capita levy (課税区分 非課税), and at least one member was assessed.
    Not evaluated from the data held: whether the members are all dependants of a taxed relative in another
    household (the benefit excludes such households; checked on the 確認書), and members who moved in after
    1 January (assessed by their former municipality; the household is listed only on its assessed members).
    No application of this benefit is in any system here, so every entitled household is listed. -#}
with

newest as (
    select max(fiscal_year) as fiscal_year from {{ ref('mart_resident_tax_by_household') }}
),

exempt as (
    select t.household_id, t.fiscal_year, t.members_assessed
    from {{ ref('mart_resident_tax_by_household') }} t
    join newest using (fiscal_year)
    where t.all_members_exempt and t.members_assessed > 0
),

final as (
    select
        e.household_id,
        h.head_person_id,
        h.head_name,
        h.address,
        h.town,
        h.members,
        e.fiscal_year,
        e.members_assessed,
        e.fiscal_year || '年度の個人住民税で、課税情報のある世帯員 ' || e.members_assessed || '人（世帯員 ' || h.members
        || '人）が全員非課税。' as reason,
        {{ as_of_date() }} as data_date
    from exempt e
    join {{ addressed_households() }} h using (household_id)
)

select * from final
