from django.apps import AppConfig


class TargetingConfig(AppConfig):
    name = "apps.targeting"
    label = "targeting"
