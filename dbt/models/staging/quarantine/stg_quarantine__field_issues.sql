{#- One row per unusable field of a loaded row (its raw value masked where it was a 個人番号). -#}
select * from {{ source('quarantine', 'field_issues') }}
