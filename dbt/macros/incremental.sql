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


{#- The ``diff`` incremental strategy: the model is computed whole, as a table would be, but only the rows
    that differ from what the lake holds are written, in one transaction. The result is the same table a
    full rebuild gives (a row-level comparison, not a filter on dates), while a daily refresh writes a
    delta instead of a new copy of every model, and changes no table's schema (no DDL: the catalog does
    not grow a table version per model per day, and unchanged files stay shared between releases).
    Rows are compared by a 64-bit hash of the whole row (os_row_hash): one pass over each side and a join
    on the key, where set differences over every column cost three times as much (int_person_records_unioned
    at 500,000 residents: 2.9 s → 0.9 s). Two different rows agree on it with a chance of about 2^-64.
    - With ``unique_key`` (one column or a list; unique and never null in the model, as its data tests
      say): rows whose key vanished or whose hash changed are deleted, new and changed rows inserted.
    - Without: when the tables differ in their row count or in the sum of their rows' hashes (a multiset's
      fingerprint: duplicates counted), the table's rows are replaced; otherwise nothing is written. -#}
{% macro get_incremental_diff_sql(arg_dict) -%}
    {%- set target = arg_dict["target_relation"] -%}
    {%- set source = arg_dict["temp_relation"] -%}
    {%- set unique_key = arg_dict["unique_key"] -%}
    {%- set cols = get_quoted_csv(arg_dict["dest_columns"] | map(attribute="name")) -%}
    {%- set row_hash = os_row_hash(arg_dict["dest_columns"]) -%}
    {%- if unique_key -%}
    {%- set keys = [unique_key] if unique_key is string else unique_key -%}
    {%- set key_csv = keys | join(", ") -%}
    {%- set changed = "os_diff_" ~ target.identifier -%}
    create or replace temp table {{ changed }} as
    select {{ key_csv }}
    from (select {{ key_csv }}, {{ row_hash }} as os_row from {{ source }}) s
    full join (select {{ key_csv }}, {{ row_hash }} as os_row from {{ target }}) t using ({{ key_csv }})
    where s.os_row is distinct from t.os_row;
    delete from {{ target }}
    where ({{ key_csv }}) in (select ({{ key_csv }}) from {{ changed }});
    insert into {{ target }} ({{ cols }})
    select {{ cols }} from {{ source }}
    where ({{ key_csv }}) in (select ({{ key_csv }}) from {{ changed }});
    drop table {{ changed }}
    {%- else -%}
    {%- set fingerprint = "{'rows': count(*), 'hashes': sum(" ~ row_hash ~ ")}" -%}
    delete from {{ target }}
    where (select {{ fingerprint }} from {{ target }}) is distinct from (select {{ fingerprint }} from {{ source }});
    insert into {{ target }} ({{ cols }})
    select {{ cols }} from {{ source }}
    where not exists (select 1 from {{ target }})
    {%- endif -%}
{%- endmacro %}


{#- A row's 64-bit hash over ``columns`` (dbt Column objects). DuckDB hashes a list as the run of its elements
    (``hash([1, 2], [3]) = hash([1], [2, 3])``, and an empty list as a null one): nested values are hashed by
    their JSON text, which keeps their boundaries. -#}
{% macro os_row_hash(columns) -%}
    {%- set parts = [] -%}
    {%- for c in columns -%}
        {%- set quoted = adapter.quote(c.name) -%}
        {%- set type = (c.dtype or "") | upper -%}
        {%- if "[" in type or type.startswith(("STRUCT", "MAP", "UNION")) -%}
            {%- do parts.append("to_json(" ~ quoted ~ ")") -%}
        {%- else -%}
            {%- do parts.append(quoted) -%}
        {%- endif -%}
    {%- endfor -%}
    hash({{ parts | join(", ") }})
{%- endmacro %}
