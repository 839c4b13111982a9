"""`TRACKER_AS_OF`: a replayed case reads as of its day, everywhere "today" decides
something, and says so in the header; each agreement has its status line."""

import datetime
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils.html import strip_tags

from agreements import clock

AS_OF = datetime.date(2012, 11, 26)
STATUS_LINE = (
    "Draft approved 19 Nov 2012 · 0 of 3 clauses signed · next: Science Programme "
    "Committee decision on EUR 50 million, February 2013"
)


def words(response) -> str:
    return " ".join(response.content.decode().split())


def text(response) -> str:
    return " ".join(strip_tags(response.content.decode()).split())


@pytest.fixture
def replayed_demo(db, settings, monkeypatch):
    settings.TRACKER_AS_OF = AS_OF
    monkeypatch.setenv("DEMO_PASSWORD", "a demo password for the as-of tests")
    call_command("load_demo", "--force", stdout=StringIO())
    return User.objects.get(username="stakeholder")


def test_the_clock_is_the_replayed_day_or_today(settings):
    settings.TRACKER_AS_OF = None
    assert clock.today() == datetime.date.today() or clock.as_of() is None
    settings.TRACKER_AS_OF = AS_OF
    assert clock.today() == AS_OF


def test_the_dashboard_of_the_replayed_demo_has_february_2013_next(replayed_demo, client):
    client.force_login(replayed_demo)
    page = words(client.get("/"))
    assert "No upcoming milestone" not in page
    milestones = page.split('id="milestones-heading"')[1]
    assert milestones.index("February 2013") < milestones.index("2016")
    assert "Science Programme Committee decision on EUR 50 million" in milestones


def test_the_header_says_as_of_which_day_the_record_is_read(replayed_demo, client):
    client.force_login(replayed_demo)
    assert 'Record as of <time datetime="2012-11-26">26 November 2012</time>' in words(
        client.get("/")
    )


def test_without_a_replayed_day_the_header_says_nothing(record, stakeholder, login, settings):
    settings.TRACKER_AS_OF = None
    assert "Record as of" not in login(stakeholder).get("/").text


def test_each_agreement_has_its_status_line_on_the_dashboard_and_its_page(replayed_demo, client):
    client.force_login(replayed_demo)
    assert STATUS_LINE in text(client.get("/"))
    assert STATUS_LINE in text(client.get("/agreements/exomars-cooperation/"))


def test_an_agreement_page_lists_coming_and_past_milestones_apart_with_the_programme_s(
    replayed_demo, client
):
    client.force_login(replayed_demo)
    page = words(client.get("/agreements/exomars-cooperation/"))
    milestones = page.split('id="milestones-heading"')[1].split("statements-heading")[0]
    coming, past = milestones.split(">Past<")
    assert "Coming up" in coming
    # The programme's decision, on the agreement's page, before the launches.
    assert coming.index("Science Programme Committee decision") < coming.index("2016")
    assert "Decision" in coming and "Launch" in coming
    assert "ExoMars draft agreement approved" in past
