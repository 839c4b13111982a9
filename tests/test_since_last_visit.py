"""The timeline's "Since my last visit" (issue 17): since the moment the reader's previous
visit (login session) began; written at login only, so it holds still while they read,
and bookmarkable as `/timeline/?since=last-visit`."""

import datetime

import pytest
from django.utils import timezone

from agreements import services
from agreements.models import ReaderVisit

LAST_VISIT = "/timeline/?since=last-visit"


def at(hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime(2026, 11, 20, hour, minute))


def test_a_login_makes_the_visit_that_began_before_the_previous_one(client, stakeholder):
    client.force_login(stakeholder)
    first = ReaderVisit.objects.get(user=stakeholder)
    assert first.previous_began_at is None
    client.logout()
    client.force_login(stakeholder)
    second = ReaderVisit.objects.get(user=stakeholder)
    assert second.previous_began_at == first.began_at
    assert second.began_at > first.began_at


def test_the_timeline_offers_since_my_last_visit(record, stakeholder, login):
    content = login(stakeholder).get("/timeline/?agreement=exomars-cooperation").text
    assert '?agreement=exomars-cooperation&amp;since=last-visit">Since my last visit</a>' in content


def test_since_my_last_visit_redirects_to_the_moment_it_began(record, stakeholder, login):
    client = login(stakeholder)
    ReaderVisit.objects.filter(user=stakeholder).update(previous_began_at=at(14, 5))

    response = client.get(LAST_VISIT + "&kind=clause&page=3")

    assert response.status_code == 302
    assert response["Location"] == "/timeline/?kind=clause&recorded_since=2026-11-20T14%3A05"


def test_it_lists_what_was_recorded_since_whatever_day_it_took_effect(record, stakeholder, login):
    client = login(stakeholder)
    services.change_status(
        record.second_clause,
        to="pending",
        by=record.editor,
        effective_on=datetime.date(2012, 11, 20),
        note="Before the visit",
        recorded_at=timezone.now() - datetime.timedelta(minutes=5),
    )
    ReaderVisit.objects.filter(user=stakeholder).update(
        previous_began_at=timezone.now() - datetime.timedelta(minutes=2)
    )
    services.change_status(
        record.clause,
        to="pending",
        by=record.editor,
        effective_on=datetime.date(2012, 11, 20),  # long ago, but recorded since
        note="Recorded since the visit",
    )

    response = client.get(LAST_VISIT, follow=True)

    content = response.content.decode()
    assert response.status_code == 200
    assert "Recorded since the visit" in content
    assert "Before the visit" not in content
    assert "Recorded since your last visit began" in content


def test_it_holds_still_while_the_reader_reads(record, stakeholder, login):
    client = login(stakeholder)
    ReaderVisit.objects.filter(user=stakeholder).update(previous_began_at=at(9))
    first = client.get(LAST_VISIT)["Location"]
    for _ in range(3):
        client.get("/")
        client.get("/timeline/")
    assert client.get(LAST_VISIT)["Location"] == first


def test_a_first_visit_shows_the_whole_timeline_and_says_why(record, stakeholder, login):
    response = login(stakeholder).get(LAST_VISIT, follow=True)
    assert response.redirect_chain == [("/timeline/", 302)]
    assert "This is your first visit" in response.content.decode()


def test_each_reader_gets_their_own_visit_through_the_page_cache(
    record, stakeholder, manager, client
):
    for reader, hour in ((stakeholder, 9), (manager, 11)):
        client.force_login(reader)
        ReaderVisit.objects.filter(user=reader).update(previous_began_at=at(hour))
        assert client.get(LAST_VISIT)["Location"].endswith(f"T{hour:02d}%3A00")


@pytest.mark.parametrize("moment", ["yesterday", "2026-13-01T10:00", "\x00"])
def test_a_bad_moment_is_a_400(record, stakeholder, login, moment):
    response = login(stakeholder).get("/timeline/", {"recorded_since": moment})
    assert response.status_code == 400
