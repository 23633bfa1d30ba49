"""Case pages, one module per concept: ``ways_in`` (refer, nominate), ``lists`` (queue, matrix), ``case`` (the
case page and its small steps), ``reopen``, ``plan``, ``package`` (builder and decision), ``shares`` (a group
package's shares) and ``notifications`` (the menu and local prices: ``apps.cases.price_views``). Views parse input
with :mod:`apps.cases.forms`, ask
:mod:`apps.accounts.access` / :mod:`apps.cases.policy`, call :mod:`apps.cases.services` and render; refusals are
shown with the NHS.UK error summary."""

from apps.cases.views.case import add_note, assign, detail, health_check, move, triage
from apps.cases.views.lists import matrix, queue
from apps.cases.views.notifications import notifications
from apps.cases.views.package import decide, package, vary
from apps.cases.views.plan import agree, plan
from apps.cases.views.reopen import reopen
from apps.cases.views.shares import shares
from apps.cases.views.ways_in import nominate, refer

__all__ = [
    "add_note",
    "agree",
    "assign",
    "decide",
    "detail",
    "health_check",
    "matrix",
    "move",
    "nominate",
    "notifications",
    "package",
    "plan",
    "queue",
    "refer",
    "reopen",
    "shares",
    "triage",
    "vary",
]
