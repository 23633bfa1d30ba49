from django.urls import path

from apps.datasets import views

app_name = "datasets"
urlpatterns = [
    path("", views.source_list, name="sources"),
    path("imports/", views.import_logs, name="logs"),
]
