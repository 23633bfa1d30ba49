"""Commands of the cohorts app."""
