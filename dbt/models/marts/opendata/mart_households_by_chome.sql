{#- Current households (世帯) by the 町丁目 of their address on the data's as-of date, before any merging or
    suppression (the published 世帯数 is written by publish/opendata.py). -#}
select
    coalesce(nullif(regexp_extract(address, '^(.+?丁目)', 1), ''), town) as area_name,
    town,
    count(*) as households,
    {{ as_of_date() }} as as_of_date
from {{ ref('dim_household') }}
where town is not null
group by all
