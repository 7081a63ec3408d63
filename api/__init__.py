"""Planned: see the open issues (this package is filled by a later issue)."""
