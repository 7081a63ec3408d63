{#- The normalized name columns every person source carries (display and matching forms). -#}
{% macro person_name_columns(name_col, kana_col) -%}
        os_name_display({{ name_col }}) as name_display,
        os_name_key({{ name_col }}) as name_key,
        os_name_key(os_surname({{ name_col }})) as surname_key,
        os_name_key(os_given_name({{ name_col }})) as given_name_key,
        os_kana_display({{ kana_col }}) as name_kana,
        os_kana_key({{ kana_col }}) as name_kana_key,
        os_kana_key(os_surname({{ kana_col }})) as surname_kana_key,
        os_kana_key(os_given_name({{ kana_col }})) as given_name_kana_key
{%- endmacro %}

{#- Birth date columns from an os_era7 / os_day struct: the date only when the day is known. -#}
{% macro birth_columns(struct) -%}
        {{ struct }}.date as birth_date,
        {{ struct }}.year as birth_year,
        {{ struct }}.month as birth_month,
        {{ struct }}.day as birth_day,
        {{ struct }}.precision as birth_date_precision
{%- endmacro %}
