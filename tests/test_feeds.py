"""Personal feeds: Atom of status changes, iCalendar of milestones and funding decisions,
reached by a secret token without login and scoped to what its user may see."""

import datetime

import feedparser
import icalendar
import pytest
from django.conf import settings
from django.urls import reverse

from agreements import services
from agreements.models import Milestone, Source, Subscription, Visibility
from tests.conftest import feed_token_of


@pytest.fixture
def token(manager) -> str:
    return feed_token_of(Subscription(user=manager, frequency="off"))


def atom(client, token: str):
    response = client.get(reverse("agreements:changes_feed", args=[token]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    assert "private" in response["Cache-Control"]
    return feedparser.parse(response.content)


def calendar(client, token: str) -> icalendar.Calendar:
    response = client.get(reverse("agreements:milestones_calendar", args=[token]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return icalendar.Calendar.from_ical(response.content)


def events(cal: icalendar.Calendar) -> dict[str, icalendar.Event]:
    return {str(event["summary"]): event for event in cal.walk("VEVENT")}


# Atom -----------------------------------------------------------------------------------------


def test_the_changes_feed_needs_no_login_and_parses(client, record, editor, token):
    services.change_status(record.clause, to="pending", by=editor, note="Agreed <in principle>")

    feed = atom(client, token)

    assert not feed.bozo, feed.bozo_exception
    newest = feed.entries[0]
    assert newest.title == "Clause 1 · Proton launchers: Draft → Pending signature"
    assert newest.link == f"{settings.SITE_URL}{record.clause.get_absolute_url()}"
    assert "Agreed &lt;in principle&gt;" in newest.summary
    assert newest.author == "editor"
    assert len({entry.id for entry in feed.entries}) == len(feed.entries)


def test_a_change_is_dated_and_signed_as_the_pages_do(client, record, editor, token):
    editor.first_name, editor.last_name = "Ada", "Editor"
    editor.save()
    services.change_status(
        record.clause, to="pending", by=editor, effective_on=datetime.date(2012, 11, 19)
    )

    newest = atom(client, token).entries[0]

    assert "Effective 19 Nov 2012, recorded by Ada Editor" in newest.summary
    assert newest.author == "Ada Editor"


def test_the_changes_feed_hides_internal_records(client, record, editor, token):
    services.change_status(record.internal_clause, to="pending", by=editor)
    secret_source = Source.objects.create(title="Leaked minutes", visibility=Visibility.INTERNAL)
    services.change_status(record.clause, to="pending", by=editor, source=secret_source)

    feed = atom(client, token)

    text = " ".join(entry.title + entry.summary for entry in feed.entries)
    for secret in ("Fallback position", "Cost sharing", "Negotiating margin", "Reserve we do"):
        assert secret not in text
    assert "Leaked minutes" not in text
    assert "Proton launchers" in text


def test_a_staff_token_sees_internal_changes(client, record, editor):
    token = feed_token_of(Subscription(user=editor, frequency="off"))
    services.change_status(record.internal_clause, to="pending", by=editor)

    titles = [entry.title for entry in atom(client, token).entries]

    assert any("Fallback position" in title for title in titles)


@pytest.mark.parametrize("name", ["agreements:changes_feed", "agreements:milestones_calendar"])
def test_an_unknown_token_is_a_404(client, db, name):
    assert client.get(reverse(name, args=["no-such-token"])).status_code == 404


@pytest.mark.parametrize("name", ["agreements:changes_feed", "agreements:milestones_calendar"])
def test_the_token_of_a_user_who_may_not_read_is_a_404(client, outsider, name):
    token = feed_token_of(Subscription(user=outsider, frequency="off"))
    assert client.get(reverse(name, args=[token])).status_code == 404


@pytest.mark.parametrize("name", ["agreements:changes_feed", "agreements:milestones_calendar"])
def test_a_deactivated_user_token_is_a_404(client, manager, token, name):
    manager.is_active = False
    manager.save()
    assert client.get(reverse(name, args=[token])).status_code == 404


def test_a_token_copied_from_the_database_opens_no_feed(client, manager, token):
    stored = Subscription.objects.get(user=manager).feed_token_hash

    assert stored and token not in stored
    for name in ("agreements:changes_feed", "agreements:milestones_calendar"):
        assert client.get(reverse(name, args=[stored])).status_code == 404
        assert client.get(reverse(name, args=[token])).status_code == 200


# iCalendar ------------------------------------------------------------------------------------


def test_the_calendar_parses_and_has_milestones_and_decisions(client, record, token):
    Milestone.objects.create(
        title="Ministerial meeting",
        happens_on=datetime.date(2012, 11, 20),
        agreement=record.agreement,
    )

    cal = calendar(client, token)

    assert cal["version"] == "2.0"
    found = events(cal)
    meeting = found["Ministerial meeting"]
    assert meeting.decoded("dtstart") == datetime.date(2012, 11, 20)
    assert meeting.decoded("dtend") == datetime.date(2012, 11, 21)
    assert str(meeting["url"]) == f"{settings.SITE_URL}{record.agreement.get_absolute_url()}"
    assert "approximate" not in str(meeting.get("description", "")).lower()
    assert len({str(event["uid"]) for event in cal.walk("VEVENT")}) == len(found)


def test_an_approximate_date_is_an_all_day_event_on_its_first_day(client, record, token):
    cal = calendar(client, token)
    found = events(cal)

    # The SPC decision is known to the month (February 2013).
    decision = found["Decision on Science Programme Committee (date approximate)"]
    assert decision.decoded("dtstart") == datetime.date(2013, 2, 1)
    assert decision.decoded("dtend") == datetime.date(2013, 2, 2)
    assert "Approximate date: February 2013" in str(decision["description"])
    # The orbiter launch is known to the year.
    launch = found["Launch of the orbiter (date approximate)"]
    assert launch.decoded("dtstart") == datetime.date(2016, 1, 1)
    assert "Approximate date: 2016" in str(launch["description"])


def test_the_calendar_hides_internal_milestones(client, record, token):
    found = events(calendar(client, token))

    assert not any("Internal deadline" in summary for summary in found)


def test_text_in_the_calendar_is_escaped(client, record, token):
    Milestone.objects.create(
        title="Talks; part 1, then\nBEGIN:VEVENT", happens_on=datetime.date(2013, 3, 4)
    )

    response = client.get(reverse("agreements:milestones_calendar", args=[token]))

    # The newline is escaped: no line of the file starts a fourth event.
    assert response.content.count(b"\r\nBEGIN:VEVENT\r\n") == 3
    assert "Talks; part 1, then\nBEGIN:VEVENT" in events(calendar(client, token))
