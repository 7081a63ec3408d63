"""The platform's core: settings, the lake connection, identifiers and their check digits, era dates,
keys, releases, masking of personal numbers, the town list, dbt on the lake.

It imports nothing above it (ingestion, identity, publish, the API, Dagster, the command line); the
layering contract in ``pyproject.toml`` (import-linter) fails the build on a back-edge.
"""
