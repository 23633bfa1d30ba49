from django.urls import path

from apps.core import views

app_name = "core"
urlpatterns = [
    path("", views.start, name="start"),
    path("home/", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("audit/", views.audit_log, name="audit"),
    path("background-tasks/", views.task_runs, name="task_runs"),
]
