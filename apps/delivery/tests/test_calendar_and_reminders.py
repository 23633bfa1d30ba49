"""iCalendar export (download and private feed) and the reminder command (sent once)."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from icalendar import Calendar

from apps.cases.models import Notification, NotificationKind
from apps.delivery import ical
from apps.delivery import networks as svc
from apps.delivery.models import Meeting, Network, ReminderSent, Session
from apps.delivery.reminders import send_reminders

pytestmark = pytest.mark.django_db


@pytest.fixture
def tomorrow_session(personas, coach):
    when = timezone.localtime(timezone.now() + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    return Session.objects.create(
        practice=personas["practice_x"].practice,
        member=coach,
        title="Coaching tomorrow",
        starts_at=when,
        planned_hours=1.5,
        created_by=personas["provider"],
    )


@pytest.fixture
def meeting(personas):
    net = Network.objects.create(
        name="Cal net", footprint="icb", icb=personas["icb_a"].icb, created_by=personas["icb_a"]
    )
    svc.join_network(personas["practice_x"], net)
    when = timezone.localtime(timezone.now() + timedelta(days=1)).replace(hour=14, minute=0, second=0, microsecond=0)
    return Meeting.objects.create(
        network=net,
        title="Winter plans",
        starts_at=when,
        location="Room 2",
        agenda="1. Rotas",
        created_by=personas["icb_a"],
    )


def summaries(data: bytes) -> set[str]:
    return {str(c.get("summary")) for c in Calendar.from_ical(data).walk("VEVENT")}


def test_the_calendar_holds_the_users_sessions_and_meetings_and_nobody_elses(personas, tomorrow_session, meeting):
    px_events = summaries(ical.user_calendar(personas["practice_x"]))
    assert any(s.startswith("Coaching tomorrow") for s in px_events) and "Cal net: Winter plans" in px_events
    assert not any("Coaching tomorrow" in s for s in summaries(ical.user_calendar(personas["practice_y"])))
    assert any(s.startswith("Coaching tomorrow") for s in summaries(ical.user_calendar(personas["provider"])))


def test_the_feed_works_without_sign_in_and_a_new_token_revokes_the_old(client, personas, tomorrow_session):
    token = ical.issue_token(personas["provider"])
    response = client.get(f"/delivery/calendar/{token}.ics")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    assert b"Coaching tomorrow" in response.content
    ical.issue_token(personas["provider"])
    assert client.get(f"/delivery/calendar/{token}.ics").status_code == 404


def test_the_feed_secret_is_stored_only_as_a_hash_and_never_audited(client_for, personas):
    from apps.core.models import AuditRecord
    from apps.delivery.models import CalendarToken, token_digest

    client = client_for("provider")
    assert "You have no calendar address yet" in client.get("/delivery/calendar/").content.decode()
    made = client.post("/delivery/calendar/")
    assert made.status_code == 200 and "no-store" in made["Cache-Control"]
    address = re.search(r'value="(http[^"]+/delivery/calendar/([^"/]+)\.ics)"', made.content.decode())
    assert address is not None
    secret = address.group(2)
    row = CalendarToken.objects.get(user=personas["provider"])
    assert row.token_sha256 == token_digest(secret) and secret not in str(CalendarToken.objects.values().get())
    records = str(list(AuditRecord.objects.filter(model="delivery.CalendarToken").values("changes")))
    assert "(secret" in records and secret not in records and row.token_sha256 not in records
    again = client.get("/delivery/calendar/").content.decode()
    assert secret not in again and "shown only when it is made" in again
    assert client_for("anonymous").get(f"/delivery/calendar/{secret}.ics").status_code == 200
    assert client.get(f"/delivery/calendar/{row.token_sha256}.ics").status_code == 404  # the hash is no key


def test_the_download_is_an_ics_attachment(client_for, tomorrow_session):
    response = client_for("practice_x").get("/delivery/calendar.ics")
    assert response["Content-Disposition"] == 'attachment; filename="gp-resilience.ics"'
    assert b"BEGIN:VCALENDAR" in response.content


def test_reminders_go_once_to_the_practice_the_coach_and_network_members(personas, tomorrow_session, meeting):
    px, prov = personas["practice_x"], personas["provider"]
    first = send_reminders()
    assert first.sessions_tomorrow >= 2 and first.meetings_tomorrow >= 1
    assert Notification.objects.filter(user=px, kind=NotificationKind.SESSION_REMINDER).count() == 1
    assert Notification.objects.filter(user=prov, kind=NotificationKind.SESSION_REMINDER).count() == 1
    assert Notification.objects.filter(user=px, kind=NotificationKind.MEETING_REMINDER).count() == 1
    again = send_reminders()
    assert (again.sessions_tomorrow, again.meetings_tomorrow) == (0, 0)
    assert Notification.objects.filter(user=px, kind=NotificationKind.SESSION_REMINDER).count() == 1


def test_an_unlogged_session_past_the_grace_days_reminds_the_coach_once(personas, tomorrow_session):
    Session.objects.filter(pk=tomorrow_session.pk).update(starts_at=timezone.now() - timedelta(days=4))
    assert (
        send_reminders(overdue_days=5).logs_overdue == 0
        or not ReminderSent.objects.filter(session=tomorrow_session).exists()
    )
    assert send_reminders(overdue_days=3).logs_overdue >= 1
    assert Notification.objects.filter(user=personas["provider"], kind=NotificationKind.LOG_OVERDUE).count() == 1
    assert send_reminders(overdue_days=3).logs_overdue == 0


def test_the_command_dry_run_sends_nothing(personas, tomorrow_session):
    out = io.StringIO()
    call_command("send_reminders", "--dry-run", stdout=out)
    assert out.getvalue().startswith("Would send:")
    assert not ReminderSent.objects.filter(session=tomorrow_session).exists()
    assert not Notification.objects.filter(user=personas["practice_x"], kind=NotificationKind.SESSION_REMINDER).exists()


def test_every_field_reads_back_exactly_through_icalendar_whatever_the_text(personas, tomorrow_session, meeting):
    """The calendar is written as content lines, not Event objects: icalendar must read back exactly what was meant,
    with commas, semicolons, backslashes, new lines, accents and lines long enough to fold."""
    awkward = "Coaching, part 1; rotas \\ cover – Ōtautahi " + "and a long tail " * 8
    Session.objects.filter(pk=tomorrow_session.pk).update(title=awkward)
    Meeting.objects.filter(pk=meeting.pk).update(location="Room 2, Floor 3; East", agenda="1. Rotas\n2. Winter, plans")
    data = ical.user_calendar(personas["practice_x"])
    assert all(len(line) <= 75 for line in data.split(b"\r\n")), "lines are folded at 75 octets"
    cal = Calendar.from_ical(data)
    assert str(cal["X-WR-CALNAME"]) == "GP Resilience: sessions and meetings" and str(cal["VERSION"]) == "2.0"
    events = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    s = events[f"session-{tomorrow_session.pk}@gp-resilience"]
    assert str(s["SUMMARY"]) == f"{awkward} – {tomorrow_session.practice.display_name}"
    assert s["DTSTART"].dt == tomorrow_session.starts_at and s["DTEND"].dt == tomorrow_session.ends_at
    assert str(s["DESCRIPTION"]).endswith(f"/delivery/sessions/{tomorrow_session.pk}/")
    m = events[f"meeting-{meeting.pk}@gp-resilience"]
    assert str(m["LOCATION"]) == "Room 2, Floor 3; East"
    assert str(m["DESCRIPTION"]).startswith("Agenda:\n1. Rotas\n2. Winter, plans\n\n")
    assert m["DTSTART"].dt == meeting.starts_at


@pytest.mark.parametrize("text", ["x" * 200, "é" * 100, "a\\" * 60, "ab;" * 50, ("\\" * 3 + "z") * 30, "–" * 70])
def test_a_folded_line_reads_back_as_written_and_never_splits_an_escape(text):
    line = ical._line("SUMMARY", text)
    parts = line.rstrip(b"\r\n").split(b"\r\n")
    assert all(len(p) <= 75 for p in parts) and all(p.startswith(b" ") for p in parts[1:])
    # no line ends inside an escape (an odd run of backslashes), and each is whole UTF-8 (no character split)
    assert all((len(p) - len(p.rstrip(b"\\"))) % 2 == 0 for p in parts[:-1])
    assert all(p.decode() for p in parts)
    cal = Calendar.from_ical(b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n" + line + b"END:VEVENT\r\nEND:VCALENDAR\r\n")
    assert str(cal.walk("VEVENT")[0]["SUMMARY"]) == text
