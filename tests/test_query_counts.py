"""Invariant 6: a reader page issues a constant number of queries, whatever the rows.

Each page is measured with a few rows of everything it lists and again with hundreds, with
the page cache emptied first (what a reader gets right after a change), and then read
again from the cache. SAVEPOINT and RELEASE lines are not counted: they come from the
transaction each test runs in, not from the page. Everything else counts: the session with
its user, the reader permission and the record's version (one query), then the page.
"""

import datetime

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agreements.models import (
    Agreement,
    Clause,
    ClauseVersion,
    FundingSource,
    Link,
    Milestone,
    Position,
    Source,
    Statement,
    StatusChange,
    Topic,
)
from tests.conftest import bumping_once_per_record

# The session, its user, the reader permission and the version (one query), and a detail
# page's record.
CACHED_QUERIES = 2
HTMX = {"HX-Request": "true"}

# What each page costs right after a change (cache emptied), whatever the number of rows:
# the session with its user, the reader permission and the record's version in one query,
# then the page's own.
PAGES = [
    ("/", {}, 9),
    ("/", HTMX, 3),
    # The agreements' idle clauses, counted for all the listed agreements at once.
    ("/agreements/", {}, 4),
    ("/agreements/?q=launch&status=draft&sort=updated&page=2", HTMX, 4),
    ("/agreements/exomars-cooperation/", {}, 10),
    ("/agreements/exomars-cooperation/?clause_status=draft", HTMX, 3),
    ("/clauses/{clause}/", {}, 11),
    ("/clauses/{clause}/compare/", {}, 3),
    ("/clauses/{clause}/compare/?from=1&to=2&view=side", {}, 3),
    ("/agreements/exomars-cooperation/positions/", {}, 5),
    ("/agreements/exomars-cooperation/positions/?level=open&as_of=2013-01-01", HTMX, 5),
    # A page showing idle records asks once more: the day each one's quiet began, for all of
    # them at once (agreements/models/idle.py). The record's topics are idle, its clauses not
    # (idle clauses: tests/test_idle.py).
    ("/topics/", {}, 4),
    ("/topics/?idle=1", HTMX, 4),
    ("/topics/?q=launch&page=2", HTMX, 3),
    ("/topics/juice/", {}, 9),
    ("/programmes/exomars/", {}, 4),
    ("/timeline/", {}, 5),
    ("/timeline/?agreement=exomars-cooperation&since=2012-01-01", {}, 6),
    ("/timeline/?page=2", {**HTMX, "HX-Target": "more"}, 5),
    ("/blocked/", {}, 3),
    ("/blocked/?kind=clause&by=topic&page=2", HTMX, 3),
    ("/blocked/?agreement=exomars-cooperation", {}, 3),
    ("/search/?q=launch", {}, 9),
    ("/search/?q=launch", HTMX, 9),
]


def grow(record, count: int) -> None:
    """`count` more of every row a reader page lists, all of them shared."""
    with bumping_once_per_record():
        add_rows(record, count)


def add_rows(record, count: int) -> None:
    editor, programme, agreement, topic = (
        record.editor,
        record.programme,
        record.agreement,
        record.topic,
    )
    offset = Clause.objects.count()
    numbers = range(offset, offset + count)
    day = datetime.date(2013, 1, 1)
    future = timezone.localdate() + datetime.timedelta(days=10)

    clauses = Clause.objects.bulk_create(
        Clause(
            agreement=agreement,
            reference=f"L{n}",
            position=n,
            title=f"Launch clause {n}",
            text="launch",
        )
        for n in numbers
    )
    agreements = Agreement.objects.bulk_create(
        Agreement(title=f"Launch agreement {n}", slug=f"launch-{n}", programme=programme)
        for n in numbers
    )
    topics = Topic.objects.bulk_create(
        Topic(title=f"Launch topic {n}", slug=f"launch-topic-{n}") for n in numbers
    )
    Agreement.parties.through.objects.bulk_create(
        Agreement.parties.through(agreement=a, party=p)
        for a in agreements
        for p in (record.esa, record.roscosmos)
    )
    Topic.parties.through.objects.bulk_create(
        Topic.parties.through(topic=t, party=p)
        for t in topics
        for p in (record.esa, record.roscosmos)
    )
    Topic.parties.through.objects.bulk_create(
        Topic.parties.through(topic=topic, party=p)
        for p in [record.esa, record.roscosmos]
        if not topic.parties.filter(pk=p.pk).exists()
    )
    sources = FundingSource.objects.bulk_create(
        FundingSource(
            programme=programme,
            title=f"Launch money {n}",
            amount=1,
            contributor=record.esa,
            source=record.source,
        )
        for n in numbers
    )
    Source.objects.bulk_create(
        Source(title=f"Launch report {n}", url="https://example.org/") for n in numbers
    )
    Milestone.objects.bulk_create(
        Milestone(
            title=f"Launch {n}",
            happens_on=future,
            agreement=agreement,
            topic=topic,
            programme=programme,
        )
        for n in numbers
    )
    Statement.objects.bulk_create(
        Statement(
            person=record.speaker,
            said_on=day,
            summary=f"On the launch {n}",
            agreement=agreement,
            source=record.source,
        )
        for n in numbers
    )
    Statement.objects.bulk_create(
        Statement(
            person=record.speaker, said_on=day, summary=f"On the launch topic {n}", topic=topic
        )
        for n in numbers
    )

    def change(**subject):
        kind = next(iter(subject))
        return StatusChange(
            kind=kind,
            **subject,
            from_status="draft",
            to_status="pending",
            recorded_by=editor,
            effective_on=day,
            note="launch",
            source=record.source,
        )

    # Versions of the texts and positions on them: of the new clauses, and of the first.
    first_number = ClauseVersion.objects.filter(clause=record.clause).count()
    versions = ClauseVersion.objects.bulk_create(
        [
            ClauseVersion(clause=c, number=1, text="launch", proposed_on=day, recorded_by=editor)
            for c in clauses
        ]
        + [
            ClauseVersion(
                clause=record.clause,
                number=first_number + 1 + index,
                text=f"launch text {n}",
                proposed_on=day,
                recorded_by=editor,
            )
            for index, n in enumerate(numbers)
        ]
    )
    Position.objects.bulk_create(
        Position(
            party=party,
            clause=version.clause,
            version=version,
            stance="accepts",
            taken_on=day,
            recorded_by=editor,
            source=record.source,
        )
        for version in versions
        for party in (record.esa, record.roscosmos)
    )
    StatusChange.objects.bulk_create(
        [change(clause=c) for c in clauses]
        + [change(clause=record.clause) for _n in numbers]
        + [change(agreement=a) for a in agreements]
        + [change(topic=topic) for _n in numbers]
        + [change(funding_source=s) for s in sources]
    )
    # Links (issue 12): clauses waiting on the topic and in a package with clause 1, the
    # agreement waiting on money.
    Link.objects.bulk_create(
        [
            Link(clause=c, kind="blocked_by", to_topic=topic, condition="topic_agreed")
            for c in clauses
        ]
        + [Link(clause=c, kind="package", to_clause=record.clause) for c in clauses]
        + [
            Link(
                agreement=agreement,
                kind="blocked_by",
                to_funding_source=s,
                condition="funding_secured",
            )
            for s in sources
        ]
    )
    # Recorded long ago, like the rest of the history: the record's topics stay idle.
    Link.objects.filter(recorded_at__gte=timezone.now() - datetime.timedelta(hours=1)).update(
        linked_on=day,
        recorded_at=timezone.make_aware(datetime.datetime(2013, 1, 1)),
        updated_at=timezone.make_aware(datetime.datetime(2013, 1, 1)),
    )


def queries_for(client, url: str, headers: dict) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, headers=headers)
    assert response.status_code == 200, url
    return len(
        [
            q
            for q in captured.captured_queries
            if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
        ]
    )


@pytest.mark.parametrize("role", ["stakeholder", "editor"])
@pytest.mark.parametrize(("url", "headers", "queries"), PAGES)
def test_a_page_costs_the_same_queries_with_3_or_300_rows(
    record, login, request, role, url, headers, queries
):
    client = login(request.getfixturevalue(role))
    url = url.format(clause=record.clause.pk)
    grow(record, 3)
    client.get(url, headers=headers)  # warm up what is cached per process
    cache.clear()
    few = queries_for(client, url, headers)
    grow(record, 297)
    cache.clear()
    many = queries_for(client, url, headers)
    assert few == many == queries
    # Read again: the cached parts, and no query of the page's own beyond finding its record.
    assert queries_for(client, url, headers) <= CACHED_QUERIES
