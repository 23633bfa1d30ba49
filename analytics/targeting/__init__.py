"""Targeting (Django-free): closure/dispersal simulation, ripple scores, a back-test of the dispersal model, group
package suggestions and the allocation optimiser.

Modules:

* :mod:`~analytics.targeting.geo` — latitude/longitude to 3-D unit vectors and a KD-tree neighbour index in km;
* :mod:`~analytics.targeting.table` — the practice table every model reads (coordinates, list, FTE, pressure);
* :mod:`~analytics.targeting.dispersal` — the gravity model for one closing practice;
* :mod:`~analytics.targeting.ripple` — the same model for every practice at once (vectorised);
* :mod:`~analytics.targeting.validation` — back-test against practices that closed between list-size snapshots;
* :mod:`~analytics.targeting.suggest` — a priced group package for a practice and its most exposed neighbours;
* :mod:`~analytics.targeting.optimise` — need-weighted allocation of packages under budgets and coach hours (MILP
  with HiGHS) against a greedy baseline, with explanations.

See docs/targeting.md for every assumption and parameter.
"""
