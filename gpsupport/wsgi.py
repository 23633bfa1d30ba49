import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gpsupport.settings")
application = get_wsgi_application()

if not settings.DEBUG:
    # Before the first request, not inside it: see compile_every_template (gunicorn.conf.py preloads this module).
    from django.template import engines

    from gpsupport.jinja2 import compile_every_template

    compile_every_template(engines["jinja2"].env)  # type: ignore[attr-defined]
