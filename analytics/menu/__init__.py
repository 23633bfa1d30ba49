"""The menu of support (Django-free): ``offers.toml`` and :mod:`analytics.menu.offers`, which reads and checks it.
The case app copies it into ``SupportOffer`` rows (``manage.py sync_menu``) and shows it at /menu-of-support/."""
