"""Universal offers run as cohorts (issue 17 §3): places, expressions of interest, allocation by the programme's
rule with a waiting list, acceptance that commits a place's cost, withdrawal that offers the place on, attendance."""
