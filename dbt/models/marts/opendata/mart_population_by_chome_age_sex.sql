{#- Residents by 町丁目, 5-year age band and sex on the data's as-of date, before any suppression
    (the published file, with small cells suppressed, is written by publish/opendata.py). -#}
with

residents as (
    select
        coalesce(nullif(regexp_extract(address, '^(.+?丁目)', 1), ''), town) as area_name,
        town,
        sex,
        {{ age_on(as_of_date(), 'birth_year', 'birth_month', 'null') }} as age
    from {{ ref('dim_person') }}
    where status = 'resident' and town is not null and sex is not null and birth_year is not null
),

final as (
    select
        area_name,
        town,
        case when age >= 100 then '100歳以上' else (age // 5 * 5)::varchar || '-' || (age // 5 * 5 + 4)::varchar || '歳' end
            as age_band,
        least(age // 5 * 5, 100) as age_band_start,
        sex,
        count(*) as population
    from residents
    where age >= 0
    group by all
)

select *, {{ as_of_date() }} as as_of_date from final
