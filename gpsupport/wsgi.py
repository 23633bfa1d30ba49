import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gpsupport.settings")
application = get_wsgi_application()

if not settings.DEBUG:
    # Before the first request, not inside it (gunicorn.conf.py preloads this module before forking its workers).
    from gpsupport.serving import prepare_to_serve

    prepare_to_serve()
