{#- One row per person and fiscal year: the person's own resident-tax assessment (what a 課税証明書 states).
    When the same person has two assessments for one year (a record linked from two 宛名番号), the newest wins. -#}
with

assessments as (
    select * from {{ ref('int_zei_assessments_linked') }}
    qualify row_number() over (partition by person_id, fiscal_year
        order by updated_on desc nulls last, assessment_key desc) = 1
),

final as (
    select
        fiscal_year::integer as fiscal_year,
        person_id,
        total_income_yen::bigint as total_income_yen,
        income_levy_yen::bigint as income_levy_yen,
        per_capita_levy_yen::bigint as per_capita_levy_yen,
        (coalesce(income_levy_yen, 0) + coalesce(per_capita_levy_yen, 0))::bigint as total_levy_yen,
        taxation,
        dependants::integer as dependants,
        updated_on as assessed_on
    from assessments
)

select * from final
