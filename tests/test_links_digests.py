"""Digests tell what holds it up (issue 12): a new blocker, a blocker lifted, each once."""

import datetime

from agreements import digests, services
from agreements.digests.sending import why_not_deliverable
from agreements.models import DigestItem, LinkKind, Visibility
from tests.test_digests import delivery_of, make_due, plan_now, subscribe


def links_in(delivery):
    return set(delivery.items.exclude(link=None).values_list("link_id", "link_event"))


def test_a_new_blocker_and_its_lifting_each_reach_the_digest_once(record, manager, editor):
    subscription = subscribe(manager)
    link = services.record_link(record.potential, LinkKind.BLOCKED_BY, record.topic, by=editor)

    plan_now()
    first = delivery_of(subscription)
    assert links_in(first) == {(link.pk, "blocked")}
    assert (
        "Science Programme Committee newly blocked by Juice cooperation, "
        "until the topic reaches agreement" in first.body_text
    )

    # Nothing new: no second line for the same blocker.
    make_due(subscription)
    plan_now()
    assert DigestItem.objects.filter(link=link).count() == 1

    services.change_status(
        record.topic,
        to="agreed",
        by=editor,
        effective_on=datetime.date(2012, 11, 30),
        source=record.source,
    )
    make_due(subscription)
    plan_now()
    latest = subscription.deliveries.order_by("-period_end").first()
    assert links_in(latest) == {(link.pk, "lifted")}
    assert "Science Programme Committee no longer blocked: the topic reached agreement" in (
        latest.body_text
    )
    make_due(subscription)
    plan_now()
    assert DigestItem.objects.filter(link=link).count() == 2


def test_blockers_of_records_not_followed_stay_out(record, manager, editor):
    subscription = subscribe(manager, follows_everything=False)
    subscription.topics.set([record.topic])
    services.record_link(record.agreement, LinkKind.BLOCKED_BY, record.potential, by=editor)
    plan_now()
    assert not DigestItem.objects.filter(subscription=subscription).exists()


def test_an_internal_blocker_never_reaches_a_reader(record, manager, editor):
    subscription = subscribe(manager)
    services.record_link(record.agreement, LinkKind.BLOCKED_BY, record.internal_topic, by=editor)
    services.record_link(
        record.agreement,
        LinkKind.BLOCKED_BY,
        record.topic,
        by=editor,
        visibility=Visibility.INTERNAL,
    )
    plan_now()
    assert not DigestItem.objects.filter(subscription=subscription).exists()


def test_a_blocker_made_internal_after_planning_stops_the_send(record, manager, editor):
    subscription = subscribe(manager)
    link = services.record_link(record.agreement, LinkKind.BLOCKED_BY, record.topic, by=editor)
    plan_now()
    delivery = delivery_of(subscription)
    assert why_not_deliverable(delivery) == ""
    link.visibility = Visibility.INTERNAL
    link.save()
    assert why_not_deliverable(delivery) == "an item was hidden from the recipient"


def test_a_new_subscription_does_not_hear_of_old_blockers(record, manager, editor):
    services.record_link(record.agreement, LinkKind.BLOCKED_BY, record.topic, by=editor)
    subscribe(manager)
    results = digests.plan_due_digests(datetime.datetime.now(datetime.UTC))
    assert all(result.outcome != "planned" for result in results)


# The calendar --------------------------------------------------------------------------------


def test_the_calendar_says_what_a_decision_holds_up(record, client, manager, editor):
    from agreements.models import Subscription
    from tests.conftest import feed_token_of
    from tests.test_feeds import calendar, events, token  # noqa: F401

    services.record_link(record.agreement, LinkKind.BLOCKED_BY, record.potential, by=editor)
    services.record_link(record.clause, LinkKind.BLOCKED_BY, record.internal_milestone, by=editor)
    found = events(calendar(client, feed_token_of(Subscription(user=manager, frequency="off"))))
    decision = found["Decision on Science Programme Committee (date approximate)"]
    assert "Holds up: ExoMars cooperation" in str(decision["description"])
    assert all("Internal deadline" not in summary for summary in found)
