"""Permission first: the access policy, data products' classifications, the analysis zone's pseudonyms.

Builds on the core; the command line and Dagster sit on it. Nothing here reads a table's rows except
through the roles it describes.
"""
