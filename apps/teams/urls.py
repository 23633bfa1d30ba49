from django.urls import path

from apps.teams import views

app_name = "teams"
urlpatterns = [
    # Team administration (apps.teams.policy says who may do what)
    path("team/", views.team, name="team"),
    path("team/invite/", views.invite, name="invite"),
    path("team/member/<int:pk>/", views.member, name="member"),
    path("team/invitation/<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("invitation/<str:token>/", views.accept, name="accept"),
]
