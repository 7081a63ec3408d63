"""dbt models as assets (dagster-dbt), built in-process by the refresh sequence's dbt stages."""
