"""The API's areas, in the order the documentation lists them.

Each entry is a module of ``apps.api`` that defines ``router = Router(tags=[...])`` with its operations (paths are
absolute under /api/v1/). A later area adds its module — e.g. ``apps/api/cases.py`` — and one line here; the access
walk (apps/api/tests/test_api_access_walk.py) then fails until each new operation has its expectation.
"""

AREAS: list[str] = [
    "apps.api.practices",
    "apps.api.indicators",
    "apps.api.watch",
    "apps.api.cases",
    "apps.api.variations",
    "apps.api.delivery",
    "apps.api.ratings",
    "apps.api.shares",
    "apps.api.money",
    "apps.api.payees",
    "apps.api.caseload",
    "apps.api.cohorts",
    "apps.api.targeting",
]
