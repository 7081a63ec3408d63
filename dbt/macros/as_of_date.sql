{#- The date the lake's data stands at: the newest registry delivery (not the wall clock, so a rebuild
    from the same deliveries gives the same marts). -#}
{% macro as_of_date() -%}
    (select max(delivered_on) from {{ ref('stg_juki__residents') }})
{%- endmacro %}

{#- Age in whole years on a date, from birth year / month / day (an unknown day counts as the 1st). -#}
{% macro age_on(on_date, year_col, month_col, day_col) -%}
    (year({{ on_date }}) - {{ year_col }}
     - case when (month({{ on_date }}), day({{ on_date }})) < (coalesce({{ month_col }}, 1), coalesce({{ day_col }}, 1))
            then 1 else 0 end)
{%- endmacro %}
