from django.urls import path

from apps.cohorts import views

app_name = "cohorts"
urlpatterns = [
    path("cohorts/", views.cohort_list, name="list"),
    path("cohorts/new/", views.new_cohort, name="new"),
    path("cohorts/<int:pk>/", views.cohort_detail, name="detail"),
    path("cohorts/<int:pk>/interest/", views.express, name="interest"),
    path("cohorts/<int:pk>/allocate/", views.allocate, name="allocate"),
    path("cohorts/places/<int:pk>/", views.place, name="place"),
]
