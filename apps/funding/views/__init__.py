"""Money pages. Thin: access through apps.accounts.access, rules in services, figures from reports."""

from apps.funding.views.icb import icb_budget, ledger, payments, virements
from apps.funding.views.national import allocate, dashboard, programme_detail, programme_new, release
from apps.funding.views.payees import payee_detail, payee_list, payee_new
from apps.funding.views.public import spend, spend_json, spend_xlsx

__all__ = [
    "allocate",
    "dashboard",
    "icb_budget",
    "ledger",
    "payee_detail",
    "payee_list",
    "payee_new",
    "payments",
    "programme_detail",
    "programme_new",
    "release",
    "spend",
    "spend_json",
    "spend_xlsx",
    "virements",
]
