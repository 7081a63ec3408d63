"""Open data, dashboards and the release: the last stages of the refresh sequence."""
