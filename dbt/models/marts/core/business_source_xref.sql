select source_system, source_record_key, business_id
from {{ source('identity', 'business_membership') }}
