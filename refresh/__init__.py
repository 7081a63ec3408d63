"""The refresh sequence (``refresh.sequence``): the one order of the stages, above the domains it calls
(ingestion, identity, publish) and below everything that runs it (the command line, Dagster, tests, bench)."""
