{#- 仮名加工情報 (個人情報保護法 第41条): one row per person the resident registry holds, for analysts.
    No name, kana, 宛名番号, 個人番号 token, phone, street number or birth date; the keys are keyed pseudonyms
    of this zone (os_pseudonym: not recomputable from a person_id, not joinable to the department products).
    The quasi-identifiers (age band, sex, area, household size) are generalized person by person (local
    recoding) until every combination covers at least var('analysis_k') persons. The area is the 丁目 where
    it holds var('analysis_min_chome') persons, else the 町; the ladder below keeps the 丁目 as long as a
    coarser age band or household size can, then falls back to the 町. Each level is counted among the
    persons no finer level could place, so every released combination (a level's own, or one two levels
    happen to share) covers at least k; the few no level places are withheld (not in the table). -#}
with

persons as (
    select * from {{ ref('dim_person') }}
    where status_source = 'juki' and sex is not null and birth_year is not null
),

registry as (  -- the registry record that decided each person's status (as dim_person picks it)
    select x.person_id, r.change_reason_code, r.change_date, r.town
    from {{ ref('stg_juki__residents') }} r
    join {{ ref('person_source_xref') }} x on x.source_system = 'juki' and x.source_record_key = r.atena_bango
    qualify row_number() over (partition by x.person_id
        order by r.resident_status_code = '1' desc, r.updated_at desc nulls last, r.atena_bango desc) = 1
),

base as (
    select
        p.person_id,
        p.household_id,
        p.sex,
        p.status,
        {{ age_on(as_of_date(), 'p.birth_year', 'p.birth_month', 'null') }} as age,
        -- a leaver's town is the registry's (dim_person's last_address_in_city); parsed only where it has none
        coalesce(p.town, r.town, os_address(p.last_address_in_city).town) as town,
        nullif(regexp_extract(coalesce(p.address, p.last_address_in_city), '^(.+?丁目)', 1), '') as chome,
        h.members as household_size,
        case when r.change_reason_code in ('01', '02') then '転入' when r.change_reason_code = '03' then '出生'
            when r.change_reason_code = '11' then '転出' when r.change_reason_code = '12' then '死亡'
            when r.change_reason_code = '21' then '市内転居' when r.change_reason_code is null then 'なし'
            else 'その他' end as latest_change,
        coalesce(r.change_date >= {{ as_of_date() }} - interval 365 day, false) as changed_within_year
    from persons p
    left join {{ ref('dim_household') }} h using (household_id)
    left join registry r using (person_id)
),

areas as (  -- a 丁目 is named only where enough persons live in it
    select *, case when chome is not null
                    and count(*) over (partition by chome) >= {{ var('analysis_min_chome') }} then chome
                   else town end as area0
    from base where town is not null and age >= 0
),

levels as (
    select *,
        case when age >= 90 then '90歳以上' else (age // 5 * 5)::varchar || '-' || (age // 5 * 5 + 4)::varchar || '歳' end
            as age0,
        case when age >= 80 then '80歳以上' else (age // 10 * 10)::varchar || '-' || (age // 10 * 10 + 9)::varchar || '歳' end
            as age1,
        case when age >= 80 then '80歳以上' else (age // 20 * 20)::varchar || '-' || (age // 20 * 20 + 19)::varchar || '歳' end
            as age2,
        case when household_size is null then 'なし' when household_size >= 6 then '6人以上'
            else household_size::varchar || '人' end as hh0,
        case when household_size is null then 'なし' when household_size >= 3 then '3人以上'
            else household_size::varchar || '人' end as hh1
    from areas
),

{#- the ladder: (age, sex, area, household size) as released at each level, finest first -#}
{% set ladder = [
    ("age0", "sex", "area0", "hh0"),
    ("age1", "sex", "area0", "hh1"),
    ("age2", "sex", "area0", "'*'"),
    ("age2", "sex", "town", "hh1"),
    ("age2", "sex", "town", "'*'"),
    ("'*'", "sex", "area0", "'*'"),
    ("'*'", "sex", "town", "'*'"),
    ("'*'", "'*'", "town", "'*'"),
] %}

{# persons with the same finest tuple share every level's fate: the ladder runs on those cells (tens of
    thousands) rather than on every person (hundreds of thousands), each cell weighing its persons #}
cells as (
    select age0, age1, age2, sex, area0, town, hh0, hh1, count(*) as n
    from levels
    group by all
),

l0 as (
    select *, null::integer as generalization_level from cells
),
{% for age, sex, area, hh in ladder %}
l{{ loop.index }} as (  -- level {{ loop.index0 }}, counted among the persons no finer level placed
    select * replace (
        coalesce(generalization_level, case when sum(n) over (
            partition by generalization_level is null, {{ age }}, {{ sex }}, {{ area }}, {{ hh }}) >= {{ var('analysis_k') }}
            and generalization_level is null then {{ loop.index0 }} end) as generalization_level)
    from l{{ loop.index0 }}
),
{% endfor %}
placed_cells as (
    select *,
        case generalization_level {% for age, sex, area, hh in ladder %}when {{ loop.index0 }} then {{ age }} {% endfor %}end
            as age_band_released,
        case generalization_level {% for age, sex, area, hh in ladder %}when {{ loop.index0 }} then {{ sex }} {% endfor %}end
            as sex_released,
        case generalization_level {% for age, sex, area, hh in ladder %}when {{ loop.index0 }} then {{ area }} {% endfor %}end
            as area_released,
        case generalization_level {% for age, sex, area, hh in ladder %}when {{ loop.index0 }} then {{ hh }} {% endfor %}end
            as household_size_released
    from l{{ ladder | length }}
    where generalization_level is not null
),

placed as (
    select p.*, c.generalization_level, c.age_band_released, c.sex_released, c.area_released,
        c.household_size_released
    from levels p
    join placed_cells c using (age0, age1, age2, sex, area0, town, hh0, hh1)
),

final as (
    select
        os_pseudonym('person', person_id) as person_key,
        os_pseudonym('household', household_id) as household_key,
        age_band_released as age_band,
        sex_released as sex,
        area_released as area,
        case when area_released <> town then 'chome' else 'town' end as area_level,
        town,
        household_size_released as household_size,
        generalization_level,
        status,
        latest_change,
        changed_within_year
    from placed
)

select * from final
