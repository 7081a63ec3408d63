select source_system, source_record_key, person_id
from {{ source('identity', 'person_membership') }}
