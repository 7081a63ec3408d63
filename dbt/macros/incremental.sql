{#- The filter of an incremental staging model over a ``_current`` view: a daily refresh reads only the
    records whose newest version came in the newest deliveries (the last one again, in case it grew).
    With ``delete+insert`` on the record key, each such record replaces its older version; records are
    never dropped from the source systems' extracts (deletions arrive as flagged versions). -#}
{% macro only_new_deliveries() -%}
    {% if is_incremental() %}
    where _delivery_date >= (select coalesce(max(delivered_on), date '1900-01-01') from {{ this }})
    {% endif %}
{%- endmacro %}
