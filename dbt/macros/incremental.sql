{#- The filter of an incremental staging model over a ``_current`` view: a refresh reads only the records
    whose newest version the platform loaded since the model last ran (whatever the delivery's date, so a
    late delivery is not missed). With ``delete+insert`` on the record key, each such record replaces its
    older version; records are never dropped from the source systems' extracts (deletions arrive as
    flagged versions). A table built before it had ``loaded_at`` is refreshed whole once (the column is
    appended by ``on_schema_change``). -#}
{% macro only_new_deliveries() -%}
    {% if is_incremental() %}
    {% set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list %}
    {% if 'loaded_at' in columns %}
    where _loaded_at > (select coalesce(max(loaded_at), '1900-01-01'::timestamptz) from {{ this }})
    {% endif %}
    {% endif %}
{%- endmacro %}
