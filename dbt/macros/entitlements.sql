{#- The last day of 児童手当 for a child born on (year, month, day): 31 March of the school year in which the
    child turns 18 (a school year groups births from 2 April to 1 April; since October 2024 there is no
    income limit). An unknown month or day takes the later school year: the list errs towards asking. -#}
{% macro child_allowance_until(year_col, month_col, day_col) -%}
    make_date({{ year_col }} + case when {{ month_col }} is null then 19
                                    when {{ month_col }} < 4 or ({{ month_col }} = 4 and {{ day_col }} = 1) then 18
                                    else 19 end, 3, 31)
{%- endmacro %}

{#- The current households with their addressee (the head of household: person id and name), address, town
    and size, as an outreach list names them. Use as a relation: join {{ addressed_households() }} h. -#}
{% macro addressed_households() -%}
    (select h.household_id, h.head_person_id, head.name as head_name, h.address, h.town, h.members
     from {{ ref('dim_household') }} h
     left join {{ ref('dim_person') }} head on head.person_id = h.head_person_id)
{%- endmacro %}
