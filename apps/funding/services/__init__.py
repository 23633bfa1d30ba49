"""Money business rules: set up programmes, allocate, release, commit, vary, de-commit, pay, vire.

Every service checks who may act (``apps.accounts.access``), validates its input (``FundingError`` naming the
problem and its field; nothing is written), and writes its ledger entries in one transaction. Services that spend
headroom lock the budget rows first (``select_for_update``, ordered by id; SQLite runs every transaction as
IMMEDIATE, which serialises writers), then re-read the balance from the ledger and check it with
``analytics.money.apply``: two approvals racing for the same money queue on the lock, and the second sees the
first's commitment.

The case workflow calls :func:`budgets_for`, :func:`commit_funds`, :func:`vary_commitment`, :func:`decommit` and
:func:`record_payment` / :func:`approve_payment`. Arithmetic (splits, balances) lives in ``analytics.money``.
"""

from apps.funding.errors import FundingError
from apps.funding.services.commitments import (
    CommitPart,
    PartShortfall,
    commit_funds,
    commit_funds_together,
    commitments_under,
    decommit,
    schedule_of,
    vary_commitment,
)
from apps.funding.services.ledger import (
    MIN_REASON,
    InsufficientFunds,
    balances,
    budgets_for,
    parse_pounds,
    pounds,
    with_balances,
)
from apps.funding.services.payees import (
    commit_to_payee,
    payee_commitments,
    payee_totals,
    tranches_of,
    vary_payee_commitment,
)
from apps.funding.services.payments import (
    approve_payment,
    approve_virement,
    payments_to_decide,
    record_payment,
    reject_payment,
    reject_virement,
    request_virement,
)
from apps.funding.services.setup import (
    AllocationPreview,
    AllocationRow,
    LineSpec,
    allocated_pence,
    allocation_weights,
    confirm_allocation,
    create_programme,
    parse_shares,
    preview_allocation,
    release_tranche,
    released_pence,
    year_of,
)
from apps.funding.services.variations import vary_together

__all__ = [
    "MIN_REASON",
    "AllocationPreview",
    "AllocationRow",
    "CommitPart",
    "FundingError",
    "InsufficientFunds",
    "LineSpec",
    "PartShortfall",
    "allocated_pence",
    "allocation_weights",
    "approve_payment",
    "approve_virement",
    "balances",
    "budgets_for",
    "commit_funds",
    "commit_funds_together",
    "commit_to_payee",
    "commitments_under",
    "confirm_allocation",
    "create_programme",
    "decommit",
    "parse_pounds",
    "parse_shares",
    "payee_commitments",
    "payee_totals",
    "payments_to_decide",
    "pounds",
    "preview_allocation",
    "record_payment",
    "reject_payment",
    "reject_virement",
    "release_tranche",
    "released_pence",
    "request_virement",
    "schedule_of",
    "tranches_of",
    "vary_commitment",
    "vary_payee_commitment",
    "vary_together",
    "with_balances",
    "year_of",
]
