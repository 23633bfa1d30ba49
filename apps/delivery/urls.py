from django.urls import path

from apps.delivery.views import delivery as d
from apps.delivery.views import faculty, outcomes, pm, sessions

app_name = "delivery"
urlpatterns = [
    path("delivery/", d.home, name="home"),
    path("delivery/faculty/", faculty.faculty, name="faculty"),
    path("delivery/faculty/growth/", faculty.growth_page, name="growth"),
    path("delivery/faculty/<int:pk>/", faculty.member, name="member"),
    path("delivery/cases/<int:pk>/", sessions.case_delivery, name="case"),
    path("delivery/cases/<int:pk>/sessions/new/", sessions.plan_session, name="plan_session"),
    path("delivery/cases/<int:pk>/outcomes/", outcomes.case_outcomes, name="case_outcomes"),
    path("delivery/sessions/<int:pk>/", sessions.session, name="session"),
    path("delivery/outcomes/", outcomes.programme, name="outcomes"),
    path("delivery/calendar/", d.calendar_page, name="calendar"),
    path("delivery/calendar.ics", d.calendar_download, name="calendar_download"),
    path("delivery/calendar/<str:token>.ics", d.calendar_feed, name="calendar_feed"),
    path("networks/", pm.network_list, name="networks"),
    path("networks/<int:pk>/", pm.network, name="network"),
    path("networks/<int:pk>/meetings/new/", pm.new_meeting, name="new_meeting"),
    path("networks/meetings/<int:pk>/", pm.meeting, name="meeting"),
    path("coaching/", pm.coaching, name="coaching"),
    path("coaching/<int:pk>/", pm.coaching_offer, name="coaching_offer"),
    path("coaching/requests/<int:pk>/", pm.coaching_request, name="coaching_request"),
    path("peer-reviews/", pm.peer_reviews, name="peer_reviews"),
    path("peer-reviews/<int:pk>/", pm.peer_review, name="peer_review"),
]
