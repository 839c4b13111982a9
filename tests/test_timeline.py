"""The timeline: every status change a reader may see, newest first, filtered and paged."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agreements import services
from agreements.models import StatusChange


def notes_in(content: str) -> list[str]:
    return re.findall(r'<p class="note">([^<]+)</p>', content)


@pytest.fixture
def changes(record):
    services.change_status(
        record.clause,
        to="pending",
        by=record.editor,
        effective_on=datetime.date(2012, 12, 1),
        note="clause to pending",
    )
    services.change_status(
        record.topic,
        to="in_discussion",
        by=record.editor,
        effective_on=datetime.date(2012, 12, 10),
        note="topic discussed",
    )
    services.change_status(
        record.potential,
        to="expected",
        by=record.editor,
        effective_on=datetime.date(2013, 1, 5),
        note="funding expected",
    )
    services.change_status(
        record.agreement,
        to="approved",
        by=record.editor,
        effective_on=datetime.date(2013, 2, 1),
        note="draft approved",
    )
    services.change_status(
        record.internal_clause,
        to="pending",
        by=record.editor,
        effective_on=datetime.date(2013, 3, 1),
        note="secret clause moved",
    )
    services.change_status(
        record.internal_topic,
        to="in_discussion",
        by=record.editor,
        effective_on=datetime.date(2013, 3, 2),
        note="secret topic moved",
    )


def test_it_lists_every_visible_change_newest_first(changes, stakeholder, login):
    content = login(stakeholder).get("/timeline/").content.decode()
    assert notes_in(content) == [
        "draft approved",
        "funding expected",
        "topic discussed",
        "clause to pending",
    ]
    assert "secret" not in content
    assert "Side letter" not in content and "Reserve we do not talk about" not in content


def test_editors_see_changes_of_internal_records(changes, editor, login):
    notes = notes_in(login(editor).get("/timeline/").content.decode())
    assert notes[:2] == ["secret topic moved", "secret clause moved"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("agreement=exomars-cooperation", ["draft approved", "clause to pending"]),
        ("topic=juice", ["topic discussed"]),
        ("kind=funding_source", ["funding expected"]),
        ("kind=clause", ["clause to pending"]),
        ("since=2012-12-05&until=2013-01-31", ["funding expected", "topic discussed"]),
        ("since=2013-01-05", ["draft approved", "funding expected"]),
    ],
)
def test_it_filters(changes, stakeholder, login, query, expected):
    response = login(stakeholder).get(f"/timeline/?{query}")
    assert response.status_code == 200
    assert notes_in(response.content.decode()) == expected


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("since=19-11-2012", "Enter dates as YYYY-MM-DD"),
        ("until=2013-02-30", "Enter dates as YYYY-MM-DD"),
        ("since=2013-02-01&until=2013-01-01", "“Since” must not be after “until”."),
        ("kind=party", "Select a valid choice."),
        ("agreement=no-such-agreement", "Select a valid choice."),
    ],
)
def test_bad_filters_are_a_400_that_says_why(changes, stakeholder, login, query, message):
    response = login(stakeholder).get(f"/timeline/?{query}")
    assert response.status_code == 400
    assert message in response.content.decode()


def test_asking_for_an_internal_agreement_is_like_asking_for_none(changes, stakeholder, login):
    response = login(stakeholder).get("/timeline/?agreement=side-letter")
    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()
    assert "Side letter" not in response.content.decode()


def test_editors_filter_by_an_internal_agreement(changes, record, editor, login):
    response = login(editor).get("/timeline/?agreement=side-letter")
    assert response.status_code == 200
    content = response.content.decode()
    assert record.clause_of_internal_agreement.title in content
    assert notes_in(content) == []  # the exomars agreement's changes are left out


@pytest.fixture
def thirty_changes(record):
    for day in range(1, 31):
        services.change_status(
            record.second_clause,
            to="pending" if day % 2 else "draft",
            by=record.editor,
            effective_on=datetime.date(2013, 1, day),
            note=f"step {day:02}",
        )


def test_load_more_fetches_the_next_page_and_swaps_itself(thirty_changes, stakeholder, login):
    client = login(stakeholder)
    content = client.get("/timeline/?kind=clause").content.decode()
    assert notes_in(content)[0] == "step 30" and len(notes_in(content)) == 25
    button = re.search(r'<li id="more" class="more"><a [^>]*>', content).group(0)
    assert 'href="/timeline/?kind=clause&amp;page=2"' in button
    assert 'hx-get="/timeline/?kind=clause&amp;page=2"' in button
    assert 'hx-swap="outerHTML"' in button and 'hx-target="#more"' in button

    more = client.get(
        "/timeline/?kind=clause&page=2", headers={"HX-Request": "true", "HX-Target": "more"}
    )
    fragment = more.content.decode()
    assert "<html" not in fragment and "<ol" not in fragment
    assert fragment.strip().startswith('<li class="change">')
    assert notes_in(fragment) == ["step 05", "step 04", "step 03", "step 02", "step 01"]
    assert 'id="more"' not in fragment  # the last page has no button
    assert "HX-Request" in more["Vary"]


def test_without_javascript_load_more_is_a_page_of_its_own(thirty_changes, stakeholder, login):
    content = login(stakeholder).get("/timeline/?kind=clause&page=2").content.decode()
    assert "<html" in content
    assert notes_in(content)[0] == "step 05"
    assert "Back to the newest changes" in content


@pytest.mark.parametrize("page", ["abc", "-3", "0", ""])
def test_odd_page_numbers_are_the_first_page(thirty_changes, stakeholder, login, page):
    response = login(stakeholder).get(f"/timeline/?kind=clause&page={page}")
    assert response.status_code == 200
    assert notes_in(response.content.decode())[0] == "step 30"


@pytest.mark.parametrize("page", ["3", "999999", "9" * 40])
def test_a_page_past_the_end_is_empty_with_the_way_back(thirty_changes, stakeholder, login, page):
    content = login(stakeholder).get(f"/timeline/?kind=clause&page={page}").content.decode()
    assert notes_in(content) == []
    assert "No more changes." in content
    assert "Back to the newest changes" in content


def test_the_timeline_is_not_counted(thirty_changes, stakeholder, login):
    """Counting the history through the visibility rule cost more than showing a page."""
    client = login(stakeholder)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/timeline/?kind=clause")
    assert response.status_code == 200
    assert len(notes_in(response.content.decode())) == 25
    assert not [query for query in queries if "COUNT(" in query["sql"].upper()]


def test_a_narrowed_timeline_names_its_subject_and_the_way_out(changes, stakeholder, login):
    content = login(stakeholder).get("/timeline/?agreement=exomars-cooperation&kind=clause")
    content = content.content.decode()
    subject = re.search(r'<p class="subject">.*?</p>', content, re.S).group(0)
    assert 'href="/agreements/exomars-cooperation/"' in subject
    assert 'href="/timeline/?kind=clause"' in subject  # the whole timeline, kind kept
    assert 'type="hidden" name="agreement" value="exomars-cooperation"' in content


def test_the_timeline_does_not_list_every_agreement_and_topic(changes, stakeholder, login):
    content = login(stakeholder).get("/timeline/").content.decode()
    form = re.search(r'<form class="filters".*?</form>', content, re.S).group(0)
    # The one select is the kind of record's.
    assert re.findall(r'<option value="([^"]*)"', form) == ["", *StatusChange.Kind.values]
    assert '<p class="subject">' not in form


def test_a_filter_change_by_htmx_gets_the_results_fragment(changes, stakeholder, login):
    response = login(stakeholder).get("/timeline/?kind=topic", headers={"HX-Request": "true"})
    content = response.content.decode()
    assert "<html" not in content
    assert content.strip().startswith('<section id="results"')
    assert notes_in(content) == ["topic discussed"]


def test_a_boosted_request_gets_the_whole_page(changes, stakeholder, login):
    response = login(stakeholder).get(
        "/timeline/", headers={"HX-Request": "true", "HX-Boosted": "true"}
    )
    assert b"<html" in response.content


def test_the_filters_are_labelled_and_pushed_to_the_url(changes, stakeholder, login):
    content = login(stakeholder).get("/timeline/").content.decode()
    for name in ("kind", "since", "until"):
        assert f'<label for="id_{name}">' in content
    form = re.search(r'<form class="filters"[^>]*>', content, re.S).group(0)
    assert 'hx-push-url="true"' in form and 'hx-target="#results"' in form


def test_managers_read_it(changes, manager, login):
    assert login(manager).get("/timeline/").status_code == 200


def test_outsiders_get_403(changes, outsider, login):
    assert login(outsider).get("/timeline/").status_code == 403


def test_anonymous_is_sent_to_login(client, changes):
    assert client.get("/timeline/")["Location"].startswith("/accounts/login/")
    htmx = client.get("/timeline/", headers={"HX-Request": "true"})
    assert htmx["HX-Redirect"].startswith("/accounts/login/")


def test_pages_walk_every_kind_of_entry_in_order(thirty_changes, negotiation, record, editor):
    """Each kind's query stops at the end of the page asked for (views.timeline_page): the
    pages, read one after another, are still the whole timeline in order, each entry once,
    with changes, new texts and positions interleaved by day."""
    from agreements.views import timeline_page

    for day in (3, 9, 17):
        negotiation.position(
            record.esa,
            record.clause,
            "accepts",
            datetime.date(2013, 1, day),
            version=negotiation.v2,
        )
    wanted = {
        "agreement": None,
        "topic": None,
        "kind": "",
        "since": None,
        "until": None,
        "recorded_since": None,
    }
    editor._can_read = True

    def key(entry) -> tuple:
        return (entry.happened_on if hasattr(entry, "guid") else entry.effective_on,
                getattr(entry, "guid", None) or f"change-{entry.pk}")  # fmt: skip

    def changes():
        return StatusChange.objects.visible_to(editor).with_subjects().newest_first()

    whole = [key(entry) for entry in timeline_page(editor, changes(), wanted, "1", 1000)]
    walked, number = [], 1
    while True:
        page = timeline_page(editor, changes(), wanted, str(number), 4)
        walked += [key(entry) for entry in page]
        if not page.has_next():
            break
        number += 1
    assert walked == whole
    assert number > 5
    assert [day for day, _ in whole] == sorted((day for day, _ in whole), reverse=True)
    assert {guid.split("-")[0] for _, guid in whole} == {"change", "clauseversion", "position"}
