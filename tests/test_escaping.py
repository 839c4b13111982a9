"""Text typed into the record is shown as text: a title that looks like a script is escaped
on every page, fragment, admin list, digest, feed and calendar where it appears.

Each kind of record gets its own payload, so that a page is checked for the records it
actually shows and a missing record cannot pass for an escaped one.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from types import SimpleNamespace

import feedparser
import icalendar
import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from agreements import digests, services
from agreements.models import (
    Agreement,
    Clause,
    FundingSource,
    Milestone,
    Party,
    Person,
    Programme,
    Source,
    Statement,
    Subscription,
    Topic,
)
from tests.conftest import feed_token_of

HTMX = {"HX-Request": "true"}


def payload(kind: str) -> str:
    # "zulu" makes it findable: PostgreSQL's text search skips what is inside <script>.
    return f"<script>alert('{kind}')</script> zulu {kind}"


def escaped(kind: str) -> str:
    return escape(payload(kind))


@pytest.fixture
def xss(record, editor):
    """A shared corner of the record where every name is a script."""
    source = Source.objects.create(title=payload("source"), publisher="Wire")
    party = Party.objects.create(name=payload("party"), slug="xss-party")
    person = Person.objects.create(name=payload("person"), party=party, role="Envoy")
    programme = Programme.objects.create(
        name=payload("programme"),
        slug="xss-programme",
        estimated_cost=Decimal("1000"),
        amount_in_question=Decimal("500"),
    )
    record.create(
        FundingSource(
            programme=programme,
            title=payload("funding"),
            contributor=party,
            amount=Decimal("100"),
            condition="If <em>all</em> goes well",
            source=source,
        )
    )
    agreement = record.create(
        Agreement(
            title=payload("agreement"),
            slug="xss",
            programme=programme,
            summary="About <b>bold</b> claims.",
        )
    )
    agreement.parties.set([party])
    clause = record.create(Clause(agreement=agreement, reference="X1", title=payload("clause")))
    topic = record.create(Topic(title=payload("topic"), slug="xss-topic"))
    topic.parties.set([party])
    statement = Statement.objects.create(
        person=person,
        said_on=datetime.date(2012, 11, 24),
        summary=payload("statement"),
        agreement=agreement,
        source=source,
    )
    Milestone.objects.create(
        title=payload("milestone"),
        happens_on=timezone.localdate() + datetime.timedelta(days=3),
        agreement=agreement,
    )
    services.change_status(clause, to="pending", by=editor, note=payload("note"), source=source)
    services.change_status(topic, to="in_discussion", by=editor, source=source)
    return SimpleNamespace(
        agreement=agreement, clause=clause, topic=topic, statement=statement, source=source
    )


def assert_escaped(content: bytes | str, kinds: list[str], where: str) -> None:
    text = content.decode() if isinstance(content, bytes) else content
    assert "<script>alert(" not in text, f"{where} has a script from the record in it"
    missing = [kind for kind in kinds if escaped(kind) not in text]
    assert not missing, f"{where} should show these as text: {missing}"


PAGES = [
    ("agreements:dashboard", lambda x: [], {}, ["agreement", "topic", "clause", "milestone"]),
    ("agreements:agreement_list", lambda x: [], {}, ["agreement", "party"]),
    (
        "agreements:agreement_detail",
        lambda x: [x.agreement.slug],
        {},
        [
            "agreement",
            "clause",
            "party",
            "statement",
            "person",
            "source",
            "programme",
            "milestone",
            "note",
        ],
    ),
    ("agreements:clause_detail", lambda x: [x.clause.pk], {}, ["clause", "agreement", "note"]),
    ("agreements:topic_list", lambda x: [], {}, ["topic", "party"]),
    ("agreements:topic_detail", lambda x: [x.topic.slug], {}, ["topic", "party", "source"]),
    (
        "agreements:programme_detail",
        lambda x: ["xss-programme"],
        {},
        ["programme", "agreement", "funding", "party", "source"],
    ),
    ("agreements:timeline", lambda x: [], {}, ["clause", "topic", "agreement", "note", "source"]),
    (
        "agreements:search",
        lambda x: [],
        {"q": "zulu"},
        ["agreement", "clause", "topic", "source", "person"],
    ),
    ("agreements:subscriptions", lambda x: [], {}, ["agreement", "topic"]),
]


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["page", "htmx"])
@pytest.mark.parametrize(
    "name,args,query,kinds", PAGES, ids=[name.split(":")[1] for name, *_ in PAGES]
)
def test_reader_pages_show_scripts_as_text(
    xss, login, stakeholder, name, args, query, kinds, headers
):
    response = login(stakeholder).get(reverse(name, args=args(xss)), query, headers=headers)
    assert response.status_code == 200
    # A fragment holds only its region: check there what that region lists.
    shown = kinds if not headers else [kind for kind in kinds if escaped(kind) in response.text]
    assert shown, "the fragment shows none of the record"
    assert_escaped(response.content, shown, f"{name} {'fragment' if headers else 'page'}")


def test_search_excerpts_mark_matches_inside_escaped_text(xss, login, stakeholder):
    response = login(stakeholder).get(reverse("agreements:search"), {"q": "zulu"})
    assert "<script>" not in response.text.split("<main", 1)[1]
    assert "&lt;script&gt;" in response.text
    assert "<mark>zulu</mark>" in response.text


def test_a_summary_with_markup_shows_the_markup_as_text(xss, login, stakeholder):
    response = login(stakeholder).get(reverse("agreements:agreement_detail", args=["xss"]))
    assert "About &lt;b&gt;bold&lt;/b&gt; claims." in response.text
    response = login(stakeholder).get(
        reverse("agreements:programme_detail", args=["xss-programme"])
    )
    assert "If &lt;em&gt;all&lt;/em&gt; goes well" in response.text


ADMIN_LISTS = {
    "agreement": ["agreement", "programme"],
    "clause": ["clause", "agreement"],
    "topic": ["topic"],
    "statement": ["statement", "person", "agreement", "source"],
    "source": ["source"],
    "party": ["party"],
    "person": ["person", "party"],
    "programme": ["programme"],
    "fundingsource": ["funding", "programme", "party"],
    "milestone": ["milestone", "agreement"],
    "statuschange": ["clause", "topic", "agreement", "source"],
}


@pytest.mark.parametrize("model", ADMIN_LISTS)
def test_admin_lists_show_scripts_as_text(xss, login, editor, model):
    response = login(editor).get(reverse(f"admin:agreements_{model}_changelist"))
    assert response.status_code == 200
    assert_escaped(response.content, ADMIN_LISTS[model], f"admin list of {model}")


def test_the_admin_history_of_a_record_shows_scripts_as_text(xss, login, editor):
    response = login(editor).get(reverse("admin:agreements_clause_change", args=[xss.clause.pk]))
    assert response.status_code == 200
    assert_escaped(response.content, ["clause", "note"], "clause change page")


# Digests, feeds, calendar ------------------------------------------------------------------


@pytest.fixture
def subscription(manager):
    subscription = Subscription.objects.create(user=manager, frequency="weekly")
    Subscription.objects.filter(pk=subscription.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=7)
    )
    subscription.refresh_from_db()
    return subscription


def test_the_digest_shows_scripts_as_text(xss, subscription):
    _subject, text, html = digests.preview_digest(subscription)

    assert_escaped(
        html,
        ["agreement", "clause", "topic", "statement", "source", "person", "note", "milestone"],
        "digest HTML",
    )
    # The text part is plain text: the title as it was typed, which no client runs.
    for kind in ("clause", "topic", "statement", "note", "milestone"):
        assert payload(kind) in text
    assert escaped("clause") not in text  # and not escaped twice over


def test_the_planned_digest_message_shows_scripts_as_text(xss, subscription):
    result = digests.plan_digest(subscription, timezone.now())
    assert result.outcome == digests.Outcome.PLANNED
    delivery = subscription.deliveries.get()
    message = digests.delivery_message(delivery)
    html = message.alternatives[0][0]
    assert_escaped(html, ["clause", "topic", "statement"], "planned digest HTML")
    assert payload("clause") in message.body


def test_the_atom_feed_shows_scripts_as_text(xss, client, subscription):
    response = client.get(reverse("agreements:changes_feed", args=[feed_token_of(subscription)]))
    assert response.status_code == 200
    assert b"<script>" not in response.content

    feed = feedparser.parse(response.content)
    titles = [entry.title for entry in feed.entries]
    assert any(payload("clause") in title for title in titles)  # text, as typed
    descriptions = "".join(entry.summary for entry in feed.entries)
    # The description is HTML: the note and source are escaped inside it.
    assert escaped("note") in descriptions and escaped("source") in descriptions


def test_the_calendar_keeps_scripts_as_plain_text(xss, client, subscription):
    response = client.get(
        reverse("agreements:milestones_calendar", args=[feed_token_of(subscription)])
    )
    assert response.status_code == 200
    calendar = icalendar.Calendar.from_ical(response.content)
    summaries = [str(event["summary"]) for event in calendar.walk("VEVENT")]
    # iCalendar text is not HTML: the title round-trips exactly, as text.
    assert payload("milestone") in summaries
    event = next(e for e in calendar.walk("VEVENT") if str(e["summary"]) == payload("milestone"))
    assert payload("agreement") in str(event["description"])
