{#- One row per business record (unique_id; source_system, source_record_key) with its stable business_id, as the
    linkage wrote it. -#}
select * from {{ source('identity', 'business_membership') }}
