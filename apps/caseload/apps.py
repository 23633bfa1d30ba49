from django.apps import AppConfig


class CaseloadConfig(AppConfig):
    name = "apps.caseload"
    label = "caseload"
    default_auto_field = "django.db.models.BigAutoField"
