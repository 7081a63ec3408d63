"""The Dagster code location: definitions.py assembles defs/; build.py and ui.py run it."""
