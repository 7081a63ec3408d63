"""Ingestion: each departmental system's deliveries into bronze and quarantine, driven by the data contracts."""
