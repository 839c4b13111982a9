"""Digests planned and sent a batch at a time (agreements/digests/planning.py, sending.py):
the number of queries does not grow with the number of digests, and each digest of a batch
is still its own subscriber's: what they may see, what they follow, in their language."""

import datetime

from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agreements import digests, services
from agreements.digests import Outcome
from agreements.models import (
    Clause,
    DigestDelivery,
    DigestItem,
    Source,
    Statement,
    Subscription,
    Visibility,
)
from tests.conftest import make_user

LANGUAGES = ("en", "fr", "ru")


def subscribers(record, count: int, prefix: str, language: str | None = None) -> list[Subscription]:
    """`count` subscriptions, not yet due, of every kind a batch mixes: staff and readers,
    following everything, an agreement or a topic, in each language (or all in one)."""
    made = []
    for n in range(count):
        staff = n % 5 == 0
        user = make_user(f"{prefix}-{n}", group=None if staff else "Managers", staff=staff)
        subscription = Subscription.objects.create(
            user=user,
            frequency=Subscription.Frequency.WEEKLY,
            language=language or LANGUAGES[n % 3],
            follows_everything=n % 5 in (0, 1),
            next_due_at=timezone.now() + datetime.timedelta(days=1),
        )
        if n % 5 in (2, 4):
            subscription.agreements.add(record.agreement)
        if n % 5 in (3, 4):
            subscription.topics.add(record.topic)
        made.append(subscription)
    return made


def news(record, editor) -> None:
    """Something for every kind of subscriber, recorded after they subscribed (the record's
    own creation, before, is not news to them)."""
    day = datetime.date(2013, 2, 4)
    # Named to staff only: a line worded once for the batch must still be worded per audience.
    leak = Source.objects.create(title="Cable from a delegate", visibility=Visibility.INTERNAL)
    services.change_status(record.clause, to="pending", by=editor, effective_on=day, source=leak)
    services.change_status(record.internal_clause, to="pending", by=editor, effective_on=day)
    services.change_status(record.topic, to="in_discussion", by=editor, effective_on=day)
    Statement.objects.create(
        person=record.speaker, said_on=day, summary="Close to a deal.", agreement=record.agreement
    )


def make_due(subscriptions: list[Subscription]) -> None:
    Subscription.objects.filter(pk__in=[s.pk for s in subscriptions]).update(
        next_due_at=timezone.now() - datetime.timedelta(minutes=1)
    )


def plan_and_send(subscriptions: list[Subscription]) -> tuple[int, int]:
    """Plan and send the digests of these subscriptions: the queries each phase took."""
    make_due(subscriptions)
    with CaptureQueriesContext(connection) as planning:
        results = digests.plan_due_digests(timezone.now())
    assert [r.outcome for r in results] == [Outcome.PLANNED] * len(subscriptions)
    with CaptureQueriesContext(connection) as sending:
        sent = digests.send_pending_digests(timezone.now())
    assert [r.outcome for r in sent] == [Outcome.SENT] * len(subscriptions)
    return len(planning), len(sending)


def test_planning_takes_as_many_queries_for_50_digests_as_for_5(record, editor, mailoutbox):
    few = subscribers(record, 5, "few")
    many = subscribers(record, 50, "many")
    news(record, editor)

    few_planning, few_sending = plan_and_send(few)
    many_planning, many_sending = plan_and_send(many)

    # One batch either way: the planner's queries do not depend on how many digests it holds.
    assert many_planning == few_planning
    # The sender marks each digest sent on its own (the crash window is one message), and
    # claims and checks them together.
    assert many_sending - few_sending <= 45
    assert (many_planning + many_sending) / 50 <= 3
    assert len(mailoutbox) == 55


def test_each_digest_of_a_batch_holds_what_its_subscriber_follows_and_may_see(record, editor):
    # One language, so that only the audience tells staff's lines from the readers'.
    staff, reader, agreement_follower, topic_follower, both = subscribers(
        record, 5, "one", language="en"
    )
    news(record, editor)
    make_due([staff, reader, agreement_follower, topic_follower, both])

    digests.plan_due_digests(timezone.now())

    def items(subscription):
        delivery = DigestDelivery.objects.get(subscription=subscription)
        return {
            (item.change.subject if item.change_id else item.statement)
            for item in delivery.items.select_related("change", "statement")
        }

    statement = Statement.objects.get(summary="Close to a deal.")
    assert items(staff) == {record.clause, record.internal_clause, record.topic, statement}
    assert items(reader) == {record.clause, record.topic, statement}  # no internal clause
    assert items(agreement_follower) == {record.clause, statement}  # not the topic
    assert items(topic_follower) == {record.topic}
    assert items(both) == {record.clause, record.topic, statement}

    def body(subscription):
        return DigestDelivery.objects.get(subscription=subscription).body_text

    assert "Cable from a delegate" in body(staff)
    for subscription in (reader, agreement_follower, both):
        assert "Proton launchers" in body(subscription)
        assert "Cable from a delegate" not in body(subscription)


def test_each_digest_of_a_batch_is_written_in_its_subscribers_language(record, editor):
    english, french, russian = subscribers(record, 3, "lang")
    news(record, editor)
    make_due([english, french, russian])

    digests.plan_due_digests(timezone.now())

    def body(subscription):
        return DigestDelivery.objects.get(subscription=subscription).body_text

    assert "4 Feb 2013" in body(english)
    assert "4 février 2013" in body(french)
    assert "4 февраля 2013" in body(russian)
    assert "février" not in body(english) and "Feb 2013" not in body(russian)


def test_a_subscription_another_planner_moved_on_is_skipped_by_the_batch(record, editor):
    first, second = subscribers(record, 2, "race")
    news(record, editor)
    make_due([first, second])
    now = timezone.now()
    # Another planner got to `first` after this one listed it, and moved it on.
    Subscription.objects.filter(pk=first.pk).update(next_due_at=now + datetime.timedelta(days=7))

    claim = Q(pk__in=[first.pk, second.pk], next_due_at__lte=now)
    results = digests.planning.plan_batch(claim, now, expected=[first, second])

    outcomes = {result.subscription_id: result.outcome for result in results}
    assert outcomes == {first.pk: Outcome.SKIPPED, second.pk: Outcome.PLANNED}
    assert not DigestDelivery.objects.filter(subscription=first).exists()


def test_a_batch_of_deliveries_is_checked_per_recipient_before_sending(record, editor, mailoutbox):
    staff, reader = subscribers(record, 2, "check", language="en")
    services.change_status(record.clause, to="pending", by=editor)
    make_due([staff, reader])
    digests.plan_due_digests(timezone.now())
    # After planning, the clause is made internal: readers may no longer see the change.
    Clause.objects.filter(pk=record.clause.pk).update(visibility=Visibility.INTERNAL)

    results = digests.send_pending_digests(timezone.now())

    outcomes = {result.subscription_id: result.outcome for result in results}
    assert outcomes == {staff.pk: Outcome.SENT, reader.pk: Outcome.CANCELLED}
    assert [message.to for message in mailoutbox] == [[staff.user.email]]
    assert not DigestItem.objects.filter(subscription=reader).exists()  # back in the ledger


def test_a_run_reads_what_went_quiet_once_and_each_subscriber_hears_it_once(record, settings):
    # The record's topic was created on 19 Nov 2012 and is idle from 18 Feb 2013
    # (tests/test_idle.py); these subscribers started before it went quiet.
    made = subscribers(record, 6, "quiet", language="en")
    started = datetime.datetime(2012, 12, 1, 9, tzinfo=datetime.UTC)
    Subscription.objects.filter(pk__in=[s.pk for s in made]).update(created_at=started)
    settings.TRACKER_AS_OF = datetime.date(2013, 3, 1)
    make_due(made)

    with CaptureQueriesContext(connection) as planning:
        results = digests.plan_due_digests(timezone.now(), chunk_size=2)
    make_due(made)
    again = digests.plan_due_digests(timezone.now(), chunk_size=2)

    assert [r.outcome for r in results] == [Outcome.PLANNED] * 6
    # Three batches, two audiences (staff, managers), clauses and topics: the idle records
    # are read once per audience for the run (PlanningRun), not once per batch (10 reads).
    idle_reads = [q for q in planning.captured_queries if '"idle_kind"' in q["sql"]]
    assert len(idle_reads) == 4
    told = {
        s.pk: DigestItem.objects.filter(subscription=s, idle_topic=record.topic).count()
        for s in made
    }
    # Following everything (0, 1, 5) or the topic (3, 4); 2 follows the agreement only.
    assert [told[s.pk] for s in made] == [1, 1, 0, 1, 1, 1]
    assert all(r.outcome == Outcome.EMPTY for r in again)
