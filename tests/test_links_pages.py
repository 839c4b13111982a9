"""What readers see of links: the panels, the path to signature, packages (issue 12)."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import translation

from agreements import dependencies, services
from agreements.models import Agreement, Link, LinkKind, Milestone
from tests.test_load_demo import demo_environment, load_demo  # noqa: F401

AS_OF = datetime.date(2012, 11, 26)


@pytest.fixture
def as_of_the_report(settings):
    settings.TRACKER_AS_OF = AS_OF


def blocked_by(record, other, by, **fields):
    return services.record_link(record, LinkKind.BLOCKED_BY, other, by=by, **fields)


def test_the_demo_path_to_signature_goes_through_the_open_money(as_of_the_report, editor):
    load_demo()
    agreement = Agreement.objects.get(slug="exomars-cooperation")
    path = dependencies.path_to_signature(editor, agreement, AS_OF)
    titles = [str(step.facts.record) for step in path]
    # The longest chain: a decision (February 2013) or the Juice topic, then its money.
    assert len(titles) == 2
    assert titles[1] in {
        "Science Programme Committee contribution",
        "Launch savings from a shared Proton launch in 2022",
    }
    assert titles[0] in {
        "Science Programme Committee decision on EUR 50 million",
        "Cooperation on Juice and Ganymede",
    }
    assert path[-1].link.record == agreement


def test_the_path_drops_a_decision_once_its_month_is_over(settings, editor):
    settings.TRACKER_AS_OF = datetime.date(2013, 3, 1)
    load_demo()
    agreement = Agreement.objects.get(slug="exomars-cooperation")
    path = dependencies.path_to_signature(editor, agreement, datetime.date(2013, 3, 1))
    assert [str(step.facts.record) for step in path] == [
        "Cooperation on Juice and Ganymede",
        "Launch savings from a shared Proton launch in 2022",
    ]


def test_the_agreement_page_shows_what_it_waits_on(as_of_the_report, login, stakeholder):
    load_demo()
    stakeholder.refresh_from_db()  # the demo sets its accounts' passwords
    page = login(stakeholder).get(
        reverse("agreements:agreement_detail", args=["exomars-cooperation"])
    )
    assert page.status_code == 200, page
    html = page.content.decode()
    assert "Path to signature" in html
    assert "Waiting on" in html
    assert "Launch savings from a shared Proton launch in 2022" in html
    assert "Lifted when the money is secured." in html


def test_the_clause_page_shows_its_package(as_of_the_report, login, stakeholder):
    load_demo()
    stakeholder.refresh_from_db()  # the demo sets its accounts' passwords
    clause = Agreement.objects.get(slug="exomars-cooperation").clauses.get(reference="3")
    page = login(stakeholder).get(clause.get_absolute_url())
    assert "Part of a package: 3 of 3 agreed." in page.content.decode()


def test_the_topic_page_lists_the_money_depending_on_it(as_of_the_report, login, stakeholder):
    load_demo()
    stakeholder.refresh_from_db()  # the demo sets its accounts' passwords
    page = login(stakeholder).get(reverse("agreements:topic_detail", args=["juice-cooperation"]))
    html = page.content.decode()
    assert "Money depending on this topic" in html
    assert "Launch savings from a shared Proton launch in 2022" in html


def test_a_lifted_blocker_stays_as_history(record, editor, login, stakeholder):
    decision = Milestone.objects.create(
        title="Committee decision",
        happens_on=datetime.date(2013, 2, 1),
        precision="month",
        done_on=datetime.date(2013, 2, 14),
    )
    blocked_by(record.agreement, decision, editor)
    found = dependencies.panel(stakeholder, record.agreement, datetime.date(2013, 2, 20))
    assert not found.waiting_on
    assert [facts.record for _link, facts in found.lifted] == [decision]
    page = login(stakeholder).get(record.agreement.get_absolute_url())
    assert "Was blocked by Committee decision until" in page.content.decode()


def test_a_package_member_is_held_back_until_all_are_agreed(record, editor, stakeholder):
    services.record_link(record.clause, LinkKind.PACKAGE, record.second_clause, by=editor)
    services.change_status(
        record.clause, to="pending", by=editor, effective_on=datetime.date(2012, 11, 20)
    )
    package = dependencies.panel(stakeholder, record.second_clause, AS_OF).package
    assert (package.agreed, package.total, package.complete) == (1, 2, False)


def test_an_internal_blocker_and_its_effect_are_invisible(record, editor, stakeholder):
    blocked_by(record.agreement, record.internal_funding, editor)
    blocked_by(record.agreement, record.internal_topic, editor)
    assert dependencies.panel(stakeholder, record.agreement, AS_OF).is_empty
    assert dependencies.path_to_signature(stakeholder, record.agreement, AS_OF) == []
    assert len(dependencies.path_to_signature(editor, record.agreement, AS_OF)) == 1
    assert dependencies.blocked_counts(stakeholder, [record.agreement], AS_OF)[0].blocked == 0
    assert dependencies.blocked_counts(editor, [record.agreement], AS_OF)[0].blocked == 2


def test_an_overdue_decision_is_shown_overdue(record, editor, stakeholder):
    # The committee's money was to be decided in February 2013.
    blocked_by(record.agreement, record.potential, editor)
    (step,) = dependencies.path_to_signature(
        stakeholder, record.agreement, datetime.date(2013, 3, 1)
    )
    assert step.facts.overdue
    (step,) = dependencies.path_to_signature(stakeholder, record.agreement, AS_OF)
    assert not step.facts.overdue
    assert Link.objects.count() == 1


def test_blocked_downloads_as_csv_without_what_readers_cannot_see(
    record, editor, login, stakeholder
):
    blocked_by(record.agreement, record.potential, editor)
    blocked_by(record.agreement, record.internal_topic, editor)
    response = login(stakeholder).get(reverse("agreements:blocked"), {"format": "csv"})
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    assert "Science Programme Committee" in text
    assert "Negotiating margin" not in text


def test_blocked_filters_by_kind_and_blocker(record, editor, login, stakeholder):
    blocked_by(record.agreement, record.potential, editor)
    blocked_by(record.clause, record.topic, editor)
    client = login(stakeholder)
    page = client.get(reverse("agreements:blocked"), {"kind": "clause"}).content.decode()
    assert "Proton launchers" in page and "Science Programme Committee" not in page
    page = client.get(reverse("agreements:blocked"), {"by": "funding_source"}).content.decode()
    assert "Proton launchers" not in page and "Science Programme Committee" in page
    fragment = client.get(
        reverse("agreements:blocked"), {"kind": "unknown"}, headers={"HX-Request": "true"}
    )
    assert fragment.status_code == 200 and "<html" not in fragment.content.decode()
    assert client.get(reverse("agreements:blocked"), {"agreement": "no such/"}).status_code == 400
    empty = client.get(reverse("agreements:blocked"), {"kind": "milestone"}).content.decode()
    assert "Nothing is blocked." in empty


def test_the_dashboard_counts_the_open_blockers_of_each_agreement_and_its_clauses(
    record, editor, login, stakeholder
):
    blocked_by(record.agreement, record.potential, editor)
    blocked_by(record.clause, record.topic, editor)
    blocked_by(record.second_clause, record.internal_topic, editor)  # not the reader's
    other = Agreement.objects.create(title="Lunar robotics", slug="lunar-robotics")
    blocked_by(other, record.topic, editor)
    page = login(stakeholder).get(reverse("agreements:dashboard")).content.decode()
    assert 'href="/blocked/?agreement=exomars-cooperation">2</a>' in page
    assert 'href="/blocked/?agreement=lunar-robotics">1</a>' in page


def test_blocked_pages_follow_the_day_each_blocker_arose(record, editor, login, stakeholder):
    # The list is counted and paged on the links' ids, then each page's rows are read whole:
    # the order, the count and the pages' edges are still the list's.
    for number in range(27):
        step = Milestone.objects.create(
            title=f"Step {number:02}",
            happens_on=datetime.date(2030, 1, 1),
            agreement=record.agreement,
        )
        # The later steps arose earlier: the list's order is not the order they were made in.
        blocked_by(record.clause, step, editor, linked_on=AS_OF - datetime.timedelta(days=number))
    internal = Milestone.objects.create(
        title="Step 99", happens_on=datetime.date(2030, 1, 1), visibility="internal"
    )
    blocked_by(record.clause, internal, editor, linked_on=AS_OF)
    client = login(stakeholder)
    first = client.get(reverse("agreements:blocked")).content.decode()
    second = client.get(reverse("agreements:blocked"), {"page": 2}).content.decode()
    assert "27 open blockers" in first and "Page 1 of 2" in first
    assert re.findall(r"Step \d\d", first) == [f"Step {n:02}" for n in range(26, 1, -1)]
    assert re.findall(r"Step \d\d", second) == ["Step 01", "Step 00"]


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "fr", "ru"])
def test_every_page_leads_to_what_is_blocked(login, stakeholder, language):
    """`/blocked/` is in the main navigation, marked current on its own page."""
    client = login(stakeholder)
    # The middleware activates the reader's language in this thread: put it back after.
    with translation.override(None):
        timeline = client.get(reverse("agreements:timeline"), HTTP_ACCEPT_LANGUAGE=language)
        blocked = client.get(reverse("agreements:blocked"), HTTP_ACCEPT_LANGUAGE=language)
    label = {"en": "Blocked", "fr": "Blocages", "ru": "Блокировки"}[language]
    assert f'href="/blocked/">{label}</a>' in timeline.content.decode()
    assert f'href="/blocked/" aria-current="page">{label}</a>' in blocked.content.decode()
