"""Idle records (issue 12): thresholds per kind as of the tracker's day, the reason, the
`?idle=1` filter, the digest line said once per quiet spell, and visibility.
agreements/models/idle.py; query counts with 3 and 300 rows: tests/test_query_counts.py."""

import datetime

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agreements import digests, services
from agreements.digests import Outcome
from agreements.models import (
    Clause,
    DigestItem,
    Link,
    Milestone,
    Statement,
    Subscription,
    Topic,
    Visibility,
)

# The record's topics were created on 19 Nov 2012 (tests/conftest.py), proposed: a topic
# is idle after 90 quiet days, so from 18 Feb 2013.
CREATED = datetime.date(2012, 11, 19)
HTMX = {"HX-Request": "true"}


def as_of(settings, day: datetime.date) -> None:
    settings.TRACKER_AS_OF = day


def topic_as(user, topic):
    return Topic.objects.visible_to(user).with_idle().get(pk=topic.pk)


def clause_as(user, clause):
    return Clause.objects.visible_to(user).with_idle().get(pk=clause.pk)


# Thresholds -------------------------------------------------------------------------------


def test_a_topic_is_idle_after_ninety_quiet_days(record, stakeholder, settings):
    as_of(settings, datetime.date(2013, 2, 17))
    assert not topic_as(stakeholder, record.topic).is_idle

    as_of(settings, datetime.date(2013, 2, 18))
    topic = topic_as(stakeholder, record.topic)
    assert topic.is_idle
    assert topic.idle_since == CREATED
    assert topic.idle_reason == "No activity since 19 Nov 2012"


def test_a_pending_clause_is_idle_after_sixty_quiet_days(record, stakeholder, editor, settings):
    as_of(settings, datetime.date(2012, 11, 20))
    services.change_status(
        record.clause,
        to="pending",
        by=editor,
        effective_on=datetime.date(2012, 11, 20),
        source=record.source,
    )
    as_of(settings, datetime.date(2013, 1, 19))
    assert not clause_as(stakeholder, record.clause).is_idle

    as_of(settings, datetime.date(2013, 1, 20))
    clause = clause_as(stakeholder, record.clause)
    assert clause.idle_kind == "pending_clause"
    assert clause.idle_reason == "No activity since 20 Nov 2012"
    # A draft clause with no reservation is never idle.
    assert not clause_as(stakeholder, record.second_clause).is_idle


def test_an_open_reservation_is_idle_after_thirty_quiet_days(record, stakeholder, editor, settings):
    services.add_clause_version(
        record.second_clause, text="Two instruments.", by=editor, proposed_on=CREATED
    )
    services.record_position(
        record.roscosmos,
        clause=record.second_clause,
        stance="reserves",
        reservation="scrutiny",
        by=editor,
        taken_on=datetime.date(2012, 11, 21),
    )
    as_of(settings, datetime.date(2012, 12, 21))
    assert not clause_as(stakeholder, record.second_clause).is_idle

    as_of(settings, datetime.date(2012, 12, 22))
    clause = clause_as(stakeholder, record.second_clause)
    assert clause.idle_kind == "reservation"
    assert clause.idle_reason == "Reservation open, no activity since 21 Nov 2012"


def test_the_thresholds_come_from_the_settings(record, stakeholder, settings):
    as_of(settings, datetime.date(2012, 12, 1))
    assert not topic_as(stakeholder, record.topic).is_idle

    settings.IDLE_TOPIC_DAYS = 10

    assert topic_as(stakeholder, record.topic).is_idle


def test_new_activity_ends_the_quiet(record, stakeholder, settings):
    as_of(settings, datetime.date(2013, 3, 1))
    Statement.objects.create(
        person=record.speaker,
        said_on=datetime.date(2013, 2, 20),
        summary="Juice is back on the table.",
        topic=record.topic,
    )

    assert not topic_as(stakeholder, record.topic).is_idle
    assert Topic.objects.visible_to(stakeholder).with_idle().idle().count() == 0


def test_a_settled_topic_is_never_idle(record, stakeholder, editor, settings):
    services.change_status(
        record.topic, to="agreed", by=editor, effective_on=CREATED, source=record.source
    )
    as_of(settings, datetime.date(2014, 1, 1))

    assert not topic_as(stakeholder, record.topic).is_idle


def test_nothing_is_closed_when_a_record_is_idle(record, stakeholder, settings):
    as_of(settings, datetime.date(2014, 1, 1))
    assert topic_as(stakeholder, record.topic).is_idle

    record.topic.refresh_from_db()
    assert record.topic.status == Topic.Status.PROPOSED


def blocked_by(record, milestone, linked_on=CREATED):
    return Link.objects.create(
        topic=record.topic,
        kind=Link.Kind.BLOCKED_BY,
        to_milestone=milestone,
        condition=Link.Condition.MILESTONE_PASSED,
        linked_on=linked_on,
    )


def test_a_link_is_activity_on_both_its_records(record, stakeholder, settings):
    as_of(settings, datetime.date(2013, 3, 1))
    Link.objects.create(
        topic=record.topic,
        kind=Link.Kind.RELATED,
        to_clause=record.clause,
        linked_on=datetime.date(2013, 2, 20),
    )

    assert not topic_as(stakeholder, record.topic).is_idle


def test_a_record_waiting_on_a_milestone_ahead_is_not_idle(record, stakeholder, settings):
    decision = Milestone.objects.create(
        title="Committee decision", happens_on=datetime.date(2013, 6, 1), precision="month"
    )
    blocked_by(record, decision)

    as_of(settings, datetime.date(2013, 6, 30))  # June 2013 is not over yet
    assert not topic_as(stakeholder, record.topic).is_idle

    as_of(settings, datetime.date(2013, 7, 1))
    topic = topic_as(stakeholder, record.topic)
    assert topic.is_idle
    assert topic.idle_reason == "No activity since 19 Nov 2012"


def test_waiting_on_a_milestone_a_reader_cannot_see_does_not_excuse_it(
    record, stakeholder, editor, settings
):
    hidden = Milestone.objects.create(
        title="Internal review",
        happens_on=datetime.date(2014, 1, 1),
        visibility=Visibility.INTERNAL,
    )
    blocked_by(record, hidden)
    as_of(settings, datetime.date(2013, 6, 1))

    assert not topic_as(editor, record.topic).is_idle
    assert topic_as(stakeholder, record.topic).is_idle


# Visibility -------------------------------------------------------------------------------


def test_internal_activity_never_shows_to_a_reader(record, stakeholder, editor, settings):
    as_of(settings, datetime.date(2013, 3, 1))
    Statement.objects.create(
        person=record.speaker,
        said_on=datetime.date(2013, 2, 25),
        summary="Said in confidence.",
        topic=record.topic,
        visibility=Visibility.INTERNAL,
    )

    # Staff see the confidential statement: the topic is not idle for them.
    assert not topic_as(editor, record.topic).is_idle
    # A reader does not: for them it is idle since its last activity they may see.
    topic = topic_as(stakeholder, record.topic)
    assert topic.idle_since == CREATED
    assert "25 Feb" not in topic.idle_reason


def test_a_confidential_reservation_does_not_make_a_reader_see_one(
    record, stakeholder, editor, settings
):
    record.topic.parties.set([record.esa, record.roscosmos])
    services.record_position(
        record.roscosmos,
        topic=record.topic,
        stance="reserves",
        reservation="substantive",
        by=editor,
        taken_on=datetime.date(2012, 11, 20),
        internal=True,
    )
    as_of(settings, datetime.date(2013, 1, 1))

    assert topic_as(editor, record.topic).idle_kind == "reservation"
    assert not topic_as(stakeholder, record.topic).is_idle  # 90 days not yet past


def test_an_internal_record_is_never_flagged_to_a_reader(record, stakeholder, settings):
    as_of(settings, datetime.date(2014, 1, 1))

    assert (
        Topic.objects.visible_to(stakeholder)
        .with_idle()
        .idle()
        .filter(pk=record.internal_topic.pk)
        .count()
        == 0
    )


# Pages and lists --------------------------------------------------------------------------


def test_the_topic_page_says_why_it_is_idle(record, stakeholder, login, settings):
    as_of(settings, datetime.date(2013, 3, 1))

    page = login(stakeholder).get(f"/topics/{record.topic.slug}/").content.decode()

    assert "Idle" in page
    assert "No activity since 19 Nov 2012" in page


def test_the_topic_list_filters_idle_topics(record, stakeholder, editor, login, settings):
    as_of(settings, datetime.date(2013, 3, 1))
    busy = Topic(title="Lunar robotics", slug="lunar")
    services.record_creation(busy, by=editor, effective_on=datetime.date(2013, 2, 27))
    client = login(stakeholder)

    everything = client.get("/topics/").content.decode()
    idle = client.get("/topics/?idle=1").content.decode()
    fragment = client.get("/topics/?idle=1", headers=HTMX).content.decode()

    assert "Lunar robotics" in everything and "Juice cooperation" in everything
    assert "Juice cooperation" in idle and "Lunar robotics" not in idle
    assert "No activity since 19 Nov 2012" in idle
    assert "Juice cooperation" in fragment and "<html" not in fragment
    # The filter is ticked on the page it gives, so the bookmark reads as it filters.
    assert 'name="idle" value="1" checked' in idle


def test_the_download_of_idle_topics_says_why(record, stakeholder, login, settings):
    as_of(settings, datetime.date(2013, 3, 1))

    response = login(stakeholder).get("/topics/?idle=1&format=csv")
    sheet = b"".join(response.streaming_content).decode()

    assert "Juice cooperation" in sheet
    assert "No activity since 19 Nov 2012" in sheet
    assert "Negotiating margin" not in sheet


@pytest.mark.parametrize("value", ["yes", "2", "1'--"])
def test_a_bad_idle_filter_is_a_clear_400(record, stakeholder, login, value):
    response = login(stakeholder).get(f"/topics/?idle={value}")

    assert response.status_code == 400


def test_the_agreement_list_counts_and_filters_idle_clauses(
    record, stakeholder, editor, login, settings
):
    services.change_status(
        record.clause, to="pending", by=editor, effective_on=CREATED, source=record.source
    )
    as_of(settings, datetime.date(2013, 3, 1))
    client = login(stakeholder)

    page = client.get("/agreements/?idle=1").content.decode()
    clauses = client.get(
        f"/agreements/{record.agreement.slug}/?idle=1", headers=HTMX
    ).content.decode()

    assert "ExoMars cooperation" in page
    assert "Proton launchers" in clauses
    assert "Orbiter instruments" not in clauses
    assert "No activity since 19 Nov 2012" in clauses


def test_the_agreement_page_ignores_a_bad_idle_filter_with_a_notice(record, stakeholder, login):
    response = login(stakeholder).get(f"/agreements/{record.agreement.slug}/?idle=maybe")

    assert response.status_code == 200
    assert "Unknown activity filter ignored." in response.content.decode()


def test_the_clause_page_says_why_it_is_idle(record, stakeholder, editor, login, settings):
    services.change_status(
        record.clause, to="pending", by=editor, effective_on=CREATED, source=record.source
    )
    as_of(settings, datetime.date(2013, 3, 1))

    page = login(stakeholder).get(f"/clauses/{record.clause.pk}/").content.decode()

    assert "No activity since 19 Nov 2012" in page


def idle_clauses_and_topics(record, editor, count: int) -> None:
    """`count` more pending clauses and topics, all quiet since 19 Nov 2012."""
    offset = Clause.objects.count()
    for n in range(offset, offset + count):
        clause = Clause(
            agreement=record.agreement,
            reference=f"Q{n}",
            position=n,
            title=f"Quiet clause {n}",
            status=Clause.Status.PENDING,
        )
        services.record_creation(clause, by=editor, effective_on=CREATED)
        topic = Topic(title=f"Quiet topic {n}", slug=f"quiet-{n}")
        services.record_creation(topic, by=editor, effective_on=CREATED)


@pytest.mark.parametrize(
    ("url", "headers", "shows", "queries"),
    [
        ("/agreements/?idle=1", {}, "ExoMars cooperation", 4),
        ("/agreements/exomars-cooperation/?idle=1", HTMX, "Quiet clause", 4),
        ("/topics/?idle=1", {}, "Quiet topic", 4),
    ],
)
def test_idle_lists_cost_the_same_queries_with_3_or_300_idle_rows(
    record, stakeholder, editor, login, settings, url, headers, shows, queries
):
    as_of(settings, datetime.date(2013, 6, 1))
    client = login(stakeholder)
    idle_clauses_and_topics(record, editor, 3)
    client.get(url, headers=headers)  # warm up what is cached per process
    cache.clear()
    with CaptureQueriesContext(connection) as few:
        assert shows in client.get(url, headers=headers).content.decode()
    idle_clauses_and_topics(record, editor, 297)
    cache.clear()
    with CaptureQueriesContext(connection) as many:
        assert shows in client.get(url, headers=headers).content.decode()

    def counted(captured) -> int:
        return len([q for q in captured if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))])

    assert counted(few) == counted(many) == queries


# Digests ----------------------------------------------------------------------------------


def subscribe_since(user, day: datetime.date, settings, **fields) -> Subscription:
    """A daily subscription that started on `day`, whose first digest (the record as the
    fixture made it, before anything is idle) is already planned."""
    subscription = Subscription.objects.create(
        user=user,
        frequency=Subscription.Frequency.DAILY,
        next_due_at=timezone.now() - datetime.timedelta(minutes=1),
        **fields,
    )
    started = datetime.datetime.combine(day, datetime.time(9), tzinfo=datetime.UTC)
    Subscription.objects.filter(pk=subscription.pk).update(created_at=started)
    subscription.refresh_from_db()
    as_of(settings, day)
    plan(subscription)
    return subscription


def plan(subscription: Subscription):
    Subscription.objects.filter(pk=subscription.pk).update(
        next_due_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    subscription.refresh_from_db()
    return digests.plan_digest(subscription, timezone.now())


def test_a_topic_turning_idle_is_in_the_next_digest_once(record, manager, settings):
    subscription = subscribe_since(manager, datetime.date(2012, 12, 1), settings)
    as_of(settings, datetime.date(2013, 3, 1))

    first = plan(subscription)
    again = plan(subscription)

    assert first.outcome == Outcome.PLANNED
    delivery = subscription.deliveries.latest("period_end")
    assert (
        "Juice cooperation: still under discussion, with no activity since 19 Nov 2012"
        in delivery.body_text
    )
    assert delivery.subject == "Negotiation tracker: 1 record gone quiet — daily digest"
    assert again.outcome == Outcome.EMPTY
    [item] = DigestItem.objects.filter(subscription=subscription, idle_since__isnull=False)
    assert (item.idle_topic_id, item.idle_since) == (record.topic.pk, CREATED)


def test_a_new_quiet_spell_is_said_again(record, manager, settings):
    subscription = subscribe_since(manager, datetime.date(2012, 12, 1), settings)
    as_of(settings, datetime.date(2013, 3, 1))
    plan(subscription)
    Statement.objects.create(
        person=record.speaker,
        said_on=datetime.date(2013, 3, 1),
        summary="Juice talks resume.",
        topic=record.topic,
    )
    as_of(settings, datetime.date(2013, 3, 2))
    plan(subscription)  # the statement, not idle any more

    as_of(settings, datetime.date(2013, 6, 1))
    plan(subscription)

    spells = DigestItem.objects.filter(subscription=subscription, idle_topic=record.topic)
    assert sorted(spells.values_list("idle_since", flat=True)) == [
        CREATED,
        datetime.date(2013, 3, 1),
    ]


def test_what_turned_idle_before_the_subscription_is_not_news(record, manager, settings):
    subscription = subscribe_since(manager, datetime.date(2013, 3, 1), settings)
    as_of(settings, datetime.date(2013, 3, 5))

    assert plan(subscription).outcome == Outcome.EMPTY


def test_an_internal_topic_turning_idle_never_reaches_a_reader(record, manager, editor, settings):
    reader = subscribe_since(manager, datetime.date(2012, 12, 1), settings)
    staff = subscribe_since(editor, datetime.date(2012, 12, 1), settings)
    as_of(settings, datetime.date(2013, 3, 1))

    plan(reader)
    plan(staff)

    assert "Negotiating margin" not in reader.deliveries.latest("period_end").body_text
    assert "Negotiating margin" in staff.deliveries.latest("period_end").body_text


def test_a_topic_made_internal_after_planning_is_not_sent(record, manager, settings, mailoutbox):
    subscription = subscribe_since(manager, datetime.date(2012, 12, 1), settings)
    as_of(settings, datetime.date(2013, 3, 1))
    plan(subscription)
    Topic.objects.filter(pk=record.topic.pk).update(visibility=Visibility.INTERNAL)

    results = digests.send_pending_digests(timezone.now())

    assert results[-1].outcome == Outcome.CANCELLED
    assert "Juice" not in "".join(message.body for message in mailoutbox)
    assert not DigestItem.objects.filter(subscription=subscription, idle_topic__isnull=False)
