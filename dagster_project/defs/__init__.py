"""Dagster definitions per part of the platform; ``dagster_project.definitions`` assembles them."""
