from django.apps import AppConfig


class PagesConfig(AppConfig):
    """The site's top layer: the start and home pages, the health check, the audit trail and background-task pages,
    and the scheduling command. It may import every app; no app imports it (``core/tests/test_structure.py``)."""

    name = "apps.pages"
    label = "pages"
