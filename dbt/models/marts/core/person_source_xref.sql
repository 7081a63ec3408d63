select source_system, source_record_key, person_id
from {{ ref('stg_identity__person_membership') }}
