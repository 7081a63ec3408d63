"""Bronze: one asset per contract table, daily partitions per delivery, thin wrappers over ingestion/."""
