from django.urls import path

from apps.caseload import views

app_name = "caseload"
urlpatterns = [
    path("caseload/import/", views.home, name="home"),
    path("caseload/import/template.<str:fmt>", views.template, name="template"),
    path("caseload/import/<int:pk>/", views.upload, name="upload"),
    path("caseload/import/<int:pk>/commit/", views.commit, name="commit"),
]
