from django.apps import AppConfig


class PracticesConfig(AppConfig):
    name = "apps.practices"
    label = "practices"
