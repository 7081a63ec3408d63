{#- 市民税課: one row per person and fiscal year assessed, with the person's name, birth date and current
    address from the one source; only persons the tax ledger holds. -#}
with

tax as (
    select * from {{ ref('mart_resident_tax_by_person') }}
),

persons as (
    select person_id, name, name_kana, birth_date, address, status from {{ ref('dim_person') }}
),

final as (
    select
        t.fiscal_year,
        t.person_id,
        p.name,
        p.name_kana,
        p.birth_date,
        p.address,
        p.status,
        t.total_income_yen,
        t.income_levy_yen,
        t.per_capita_levy_yen,
        t.total_levy_yen,
        t.taxation,
        t.dependants
    from tax t
    left join persons p using (person_id)
)

select * from final
