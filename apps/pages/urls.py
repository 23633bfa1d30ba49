from django.urls import path

from apps.pages import views

# The namespace stays "core" (these pages were core's): every link and redirect names core:home, core:audit, …
app_name = "core"
urlpatterns = [
    path("", views.start, name="start"),
    path("home/", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("audit/", views.audit_log, name="audit"),
    path("background-tasks/", views.task_runs, name="task_runs"),
]
