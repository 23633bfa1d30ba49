"""Settings for the test suite: the development settings, asked for explicitly.

``DJANGO_DEBUG`` is off unless set (production refuses to start without a real key and hosts), so the suite turns it
on here: a development key, local hosts, plain static files (pytest-django's live server cannot serve hashed names)
and console mail. Django's test runner still runs every test with ``DEBUG = False``. Subprocesses the tests start
inherit the variable; the production-settings tests set their own environment.
"""

import os

os.environ.setdefault("DJANGO_DEBUG", "true")

from gpsupport.settings import *  # noqa: F403
