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
    - With ``unique_key`` (one column or a list; unique and never null in the model, as its data tests
      say): rows whose key vanished or whose values changed are deleted, new and changed rows inserted.
      Rows are then distinct, so set ``except`` (much faster than ``except all``) is exact.
    - Without: when the rows differ in any way (``except all``, duplicates counted), the table's rows
      are replaced; otherwise nothing is written. -#}
{% macro get_incremental_diff_sql(arg_dict) -%}
    {%- set target = arg_dict["target_relation"] -%}
    {%- set source = arg_dict["temp_relation"] -%}
    {%- set unique_key = arg_dict["unique_key"] -%}
    {%- set cols = get_quoted_csv(arg_dict["dest_columns"] | map(attribute="name")) -%}
    {%- if unique_key -%}
    {%- set keys = [unique_key] if unique_key is string else unique_key -%}
    {%- set key_csv = keys | join(", ") -%}
    delete from {{ target }}
    where ({{ key_csv }}) in (
        select ({{ key_csv }}) from (
            select {{ cols }} from {{ target }}
            except
            select {{ cols }} from {{ source }}
        )
    );
    insert into {{ target }} ({{ cols }})
    select {{ cols }} from {{ source }}
    except
    select {{ cols }} from {{ target }}
    {%- else -%}
    delete from {{ target }}
    where exists (
        select 1 from (select {{ cols }} from {{ target }} except all select {{ cols }} from {{ source }})
        union all
        select 1 from (select {{ cols }} from {{ source }} except all select {{ cols }} from {{ target }})
    );
    insert into {{ target }} ({{ cols }})
    select {{ cols }} from {{ source }}
    where not exists (select 1 from {{ target }})
    {%- endif -%}
{%- endmacro %}
