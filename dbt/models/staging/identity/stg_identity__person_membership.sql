{#- One row per person record (unique_id; source_system, source_record_key) with its stable person_id, as the
    linkage wrote it. -#}
select * from {{ source('identity', 'person_membership') }}
