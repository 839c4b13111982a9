"""'What changed this week': the dashboard's latest changes grouped with their age, a
creation as one "added" line, and timeline presets."""

import datetime

import pytest

from agreements import services

AS_OF = datetime.date(2012, 12, 3)


@pytest.fixture(autouse=True)
def replayed(settings):
    settings.TRACKER_AS_OF = AS_OF


def test_the_latest_changes_are_grouped_this_week_and_earlier_with_their_age(
    record, stakeholder, login
):
    services.change_status(
        record.clause, to="pending", by=record.editor, effective_on=datetime.date(2012, 11, 27)
    )
    content = " ".join(login(stakeholder).get("/").text.split())
    this_week, earlier = content.split("<h3>This week</h3>")[1].split("<h3>Earlier</h3>")
    assert "Proton launchers" in this_week and "6 days ago" in this_week
    assert "14 days ago" in earlier  # the records' creation, on 19 Nov 2012


def test_a_creation_is_one_added_line(record, stakeholder, login):
    content = login(stakeholder).get(record.clause.get_absolute_url()).text
    assert "added as" in content
    assert "created as" not in content


def test_the_timeline_offers_the_last_7_and_30_days(record, stakeholder, login):
    content = login(stakeholder).get("/timeline/").text
    assert '?since=2012-11-27">Last 7 days</a>' in content
    assert '?since=2012-11-04">Last 30 days</a>' in content
