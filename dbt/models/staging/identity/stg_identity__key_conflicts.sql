{#- One row per record whose deterministic key (宛名番号, 個人番号 token, 法人番号) the linkage refused as someone
    else's: a borrowed key, flagged on the record that carries it. The key stays in the source's staging model
    as delivered; golden records do not take it, and the record is not merged with the key's owner unless a
    reviewer says so. -#}
select 'person' as entity, * from {{ source('identity', 'person_key_conflicts') }}
union all by name
select 'business' as entity, * from {{ source('identity', 'business_key_conflicts') }}
