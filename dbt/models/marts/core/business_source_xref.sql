select source_system, source_record_key, business_id
from {{ ref('stg_identity__business_membership') }}
