"""Digests: what goes into one, the ledger that keeps each change in exactly one digest, the
schedule, and sending (agreements/digests/). Concurrency: tests/test_digests_concurrency.py.
"""

import datetime

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agreements import digests, services
from agreements.digests import Outcome
from agreements.models import (
    Clause,
    DigestDelivery,
    DigestItem,
    FundingSource,
    Milestone,
    Programme,
    Statement,
    StatusChange,
    Subscription,
    Visibility,
)

PARIS = datetime.timezone(datetime.timedelta(hours=1))  # winter time, for fixed moments


def subscribe(user, **fields) -> Subscription:
    """A subscription that starts now and is already due."""
    fields.setdefault("frequency", Subscription.Frequency.DAILY)
    fields.setdefault("next_due_at", timezone.now() - datetime.timedelta(minutes=1))
    return Subscription.objects.create(user=user, **fields)


def plan_now() -> list[digests.DigestResult]:
    return digests.plan_due_digests(timezone.now())


def make_due(subscription: Subscription) -> None:
    Subscription.objects.filter(pk=subscription.pk).update(
        next_due_at=timezone.now() - datetime.timedelta(seconds=1)
    )


def delivery_of(subscription: Subscription) -> DigestDelivery:
    return DigestDelivery.objects.get(subscription=subscription)


def changes_in(delivery: DigestDelivery) -> set[int]:
    return set(delivery.items.exclude(change=None).values_list("change_id", flat=True))


# Schedule -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # 06:00 Paris: today at 07:00.
        ("2012-11-19T06:00:00+01:00", "2012-11-19T07:00:00+01:00"),
        # 07:00 exactly: strictly after, so tomorrow.
        ("2012-11-19T07:00:00+01:00", "2012-11-20T07:00:00+01:00"),
        ("2012-11-19T23:30:00+01:00", "2012-11-20T07:00:00+01:00"),
    ],
)
def test_a_daily_digest_is_due_at_the_next_local_hour(manager, now, expected):
    subscription = Subscription(user=manager, frequency="daily", hour=7)
    due = digests.next_due_after(subscription, datetime.datetime.fromisoformat(now))
    assert due == datetime.datetime.fromisoformat(expected)


def test_a_weekly_digest_is_due_on_its_weekday(manager):
    # 19 Nov 2012 is a Monday; weekday 4 is Friday.
    subscription = Subscription(user=manager, frequency="weekly", hour=18, weekday=4)
    now = datetime.datetime(2012, 11, 19, 9, tzinfo=PARIS)
    assert digests.next_due_after(subscription, now) == datetime.datetime(
        2012, 11, 23, 18, tzinfo=PARIS
    )
    friday_evening = datetime.datetime(2012, 11, 23, 18, 0, 1, tzinfo=PARIS)
    assert digests.next_due_after(subscription, friday_evening) == datetime.datetime(
        2012, 11, 30, 18, tzinfo=PARIS
    )


def test_the_local_hour_holds_across_daylight_saving_time(manager):
    subscription = Subscription(user=manager, frequency="daily", hour=7)
    # The night clocks go back (28 Oct 2012): 07:00 is at UTC+1 the next morning.
    before = datetime.datetime(
        2012, 10, 27, 8, tzinfo=datetime.timezone(datetime.timedelta(hours=2))
    )
    due = digests.next_due_after(subscription, before)
    assert due.astimezone(digests.local_zone()).hour == 7
    assert due == datetime.datetime(2012, 10, 28, 6, tzinfo=datetime.UTC)


def test_an_off_subscription_is_never_due(manager):
    subscription = Subscription(user=manager, frequency="off")
    assert digests.next_due_after(subscription, timezone.now()) is None


def test_an_unscheduled_subscription_gets_its_first_due_time(manager):
    subscription = Subscription.objects.create(user=manager, frequency="weekly", next_due_at=None)
    now = timezone.now()
    assert digests.schedule_subscriptions(now) == 1
    subscription.refresh_from_db()
    assert subscription.next_due_at > now
    assert digests.schedule_subscriptions(now) == 0


# Content ------------------------------------------------------------------------------------


def test_it_plans_a_digest_of_followed_changes(record, manager, editor):
    subscription = subscribe(manager)
    change = services.change_status(
        record.clause, to="pending", by=editor, effective_on=datetime.date(2012, 11, 19)
    )

    [result] = plan_now()

    assert result.outcome == Outcome.PLANNED
    delivery = delivery_of(subscription)
    assert changes_in(delivery) == {change.pk}
    assert delivery.status == DigestDelivery.Status.PENDING
    assert delivery.recipient == "manager@example.org"
    assert "Clause 1 · Proton launchers: Draft → Pending signature, 19 Nov 2012" in (
        delivery.body_text
    )
    assert "recorded by editor" in delivery.body_text
    assert delivery.subject == "ExoMars: 1 clause pending signature — daily digest"


def test_the_subject_says_what_is_inside(record, manager, editor):
    subscribe(manager, frequency="weekly")
    for clause in (record.clause, record.second_clause):
        services.change_status(clause, to="signed", by=editor, no_source_yet=True)
    services.change_status(record.topic, to="in_discussion", by=editor)

    plan_now()

    delivery = DigestDelivery.objects.get()
    assert delivery.subject == "ExoMars: 2 clauses signed, 1 topic changed — weekly digest"


def test_every_link_is_absolute(record, manager, editor):
    subscription = subscribe(manager)
    services.change_status(record.clause, to="pending", by=editor, source=record.source)
    services.change_status(record.topic, to="in_discussion", by=editor)
    services.change_status(record.potential, to="expected", by=editor)

    plan_now()

    delivery = delivery_of(subscription)
    base = settings.SITE_URL
    assert f"{base}{record.clause.get_absolute_url()}" in delivery.body_text
    assert f"{base}{record.topic.get_absolute_url()}" in delivery.body_text
    assert f'href="{base}{record.programme.get_absolute_url()}"' in delivery.body_html
    assert "source: Report on the draft (Wire)" in delivery.body_text
    hrefs = [part.split('"')[0] for part in delivery.body_html.split('href="')[1:]]
    assert hrefs and all(href.startswith(base) for href in hrefs)


def test_the_html_part_has_no_script_and_no_external_images(record, manager, editor):
    subscription = subscribe(manager)
    services.change_status(record.clause, to="pending", by=editor, note="<script>x</script>")

    plan_now()

    html = delivery_of(subscription).body_html
    assert "<script" not in html
    assert "&lt;script&gt;" in html
    assert "<img" not in html and "<link" not in html
    assert 'style="' in html


def test_funding_follows_the_programme_of_followed_agreements(record, manager, editor):
    subscription = subscribe(manager, follows_everything=False)
    subscription.agreements.add(record.agreement)
    funding = services.change_status(record.potential, to="expected", by=editor)

    plan_now()

    assert changes_in(delivery_of(subscription)) == {funding.pk}


def test_nothing_outside_what_they_follow(record, manager, editor):
    subscription = subscribe(manager, follows_everything=False)
    subscription.topics.add(record.topic)
    services.change_status(record.clause, to="pending", by=editor)
    services.change_status(record.potential, to="expected", by=editor)
    on_topic = services.change_status(record.topic, to="in_discussion", by=editor)
    Statement.objects.create(
        person=record.speaker,
        said_on=datetime.date(2012, 11, 23),
        summary="About the deal.",
        agreement=record.agreement,
    )

    plan_now()

    delivery = delivery_of(subscription)
    assert changes_in(delivery) == {on_topic.pk}
    assert not delivery.items.exclude(statement=None).exists()
    assert "Proton" not in delivery.body_text
    assert "About the deal" not in delivery.body_text


def test_nothing_internal_reaches_a_non_staff_recipient(record, manager, editor):
    subscription = subscribe(manager)
    internal_source = record.source.__class__.objects.create(
        title="Leaked minutes", visibility=Visibility.INTERNAL
    )
    hidden = [
        services.change_status(record.internal_clause, to="pending", by=editor),
        services.change_status(
            record.clause_of_internal_agreement, to="signed", by=editor, no_source_yet=True
        ),
        services.change_status(record.internal_agreement, to="approved", by=editor),
        services.change_status(record.internal_topic, to="in_discussion", by=editor),
        services.change_status(
            record.internal_funding, to="secured", by=editor, no_source_yet=True
        ),
    ]
    shown = services.change_status(record.clause, to="pending", by=editor, source=internal_source)
    Statement.objects.create(
        person=record.speaker,
        said_on=datetime.date(2012, 11, 23),
        summary="Off the record.",
        agreement=record.agreement,
        visibility=Visibility.INTERNAL,
    )

    plan_now()

    delivery = delivery_of(subscription)
    assert changes_in(delivery) == {shown.pk}
    text = delivery.body_text + delivery.body_html + delivery.subject
    for secret in (
        "Fallback position",
        "Cost sharing",
        "Side letter",
        "Negotiating margin",
        "Reserve we do not talk about",
        "Leaked minutes",
        "Off the record",
    ):
        assert secret not in text
    assert not DigestItem.objects.filter(change__in=hidden).exists()


def test_staff_recipients_get_internal_changes(record, editor):
    subscription = subscribe(editor)
    change = services.change_status(record.internal_clause, to="pending", by=editor)

    plan_now()

    assert changes_in(delivery_of(subscription)) == {change.pk}


def test_new_statements_are_in_the_digest(record, manager):
    subscription = subscribe(manager)
    statement = Statement.objects.create(
        person=record.speaker,
        said_on=datetime.date(2012, 11, 23),
        summary="Signatures are expected at the ministerial meeting.",
        agreement=record.agreement,
        source=record.source,
    )

    [result] = plan_now()

    assert result.outcome == Outcome.PLANNED
    delivery = delivery_of(subscription)
    assert list(delivery.items.values_list("statement_id", flat=True)) == [statement.pk]
    assert "Frederic Nordlund (ESA), 23 Nov 2012, on ExoMars cooperation" in delivery.body_text
    assert "1 new statement" in delivery.subject


def test_upcoming_milestones_and_overdue_decisions_come_with_a_digest(record, manager, editor):
    subscription = subscribe(manager)
    today = timezone.localdate()
    Milestone.objects.create(
        title="Ministerial meeting",
        happens_on=today + datetime.timedelta(days=3),
        agreement=record.agreement,
    )
    Milestone.objects.create(
        title="Far away", happens_on=today + datetime.timedelta(days=40), agreement=record.agreement
    )
    # Known to the month only: this month is still "coming up".
    Milestone.objects.create(
        title="Committee decision",
        happens_on=today.replace(day=1),
        precision="month",
        programme=record.programme,
    )
    Milestone.objects.create(
        title="Hidden deadline",
        happens_on=today,
        visibility=Visibility.INTERNAL,
        agreement=record.agreement,
    )
    FundingSource.objects.filter(pk=record.potential.pk).update(
        decision_on=today - datetime.timedelta(days=10), decision_precision="day"
    )
    services.change_status(record.clause, to="pending", by=editor)

    plan_now()

    text = delivery_of(subscription).body_text
    upcoming = text.split("COMING UP IN THE NEXT 14 DAYS")[1].split("OVERDUE DECISIONS")[0]
    assert "Ministerial meeting" in upcoming
    assert "Committee decision" in upcoming and "(approximate)" in upcoming
    assert "Far away" not in text
    assert "Hidden deadline" not in text
    overdue = text.split("OVERDUE DECISIONS")[1]
    assert "Decision on Science Programme Committee (EUR 50,000,000, potential)" in overdue


@pytest.mark.parametrize(
    ("language", "day", "month", "amount", "heading"),
    [
        ("en", "19 Nov 2012", "February 2013", "EUR 50,000,000", "Coming up in the next 14 days"),
        (
            "fr",
            "19 novembre 2012",
            "février 2013",
            "50\xa0000\xa0000 EUR",
            "Dans les 14 prochains jours",
        ),
        # A month alone in the nominative, a day's month in the genitive.
        ("ru", "19 ноября 2012", "Февраль 2013", "50\xa0000\xa0000 EUR", "В ближайшие 14 дней"),  # noqa: RUF001
    ],
)
def test_a_digest_is_written_in_its_recipients_language(
    record, manager, editor, language, day, month, amount, heading
):
    now = datetime.datetime(2013, 2, 10, 8, tzinfo=PARIS)
    subscription = subscribe(
        manager, language=language, next_due_at=now - datetime.timedelta(minutes=1)
    )
    services.change_status(
        record.clause, to="pending", by=editor, effective_on=datetime.date(2012, 11, 19)
    )

    digests.plan_due_digests(now)

    # The committee's 50 million is decided in February 2013, known to the month.
    delivery = delivery_of(subscription)
    for body in (delivery.body_text, delivery.body_html):
        assert day in body
        assert month in body
        assert amount in body
        assert heading in body or heading.upper() in body
    if language != "en":
        assert "Nov 2012" not in delivery.body_text
        assert "50,000,000" not in delivery.body_text


def test_a_digest_in_a_language_no_longer_offered_is_in_the_sites(record, manager, editor):
    subscription = subscribe(manager, language="de")
    services.change_status(
        record.clause, to="pending", by=editor, effective_on=datetime.date(2012, 11, 19)
    )

    plan_now()

    assert "19 Nov 2012" in delivery_of(subscription).body_text


def test_a_secured_decision_is_not_overdue(record, manager, editor):
    subscription = subscribe(manager)
    FundingSource.objects.filter(pk=record.secured.pk).update(
        decision_on=timezone.localdate() - datetime.timedelta(days=10)
    )
    services.change_status(record.clause, to="pending", by=editor)

    plan_now()

    text = delivery_of(subscription).body_text
    assert "Decision on Science Programme Committee" in text  # still potential: overdue
    assert "Decision on Italy" not in text


def test_a_long_digest_lists_the_first_changes_and_counts_the_rest(
    record, manager, editor, monkeypatch
):
    monkeypatch.setattr(digests.content, "MAX_LISTED_CHANGES", 2)
    subscription = subscribe(manager)
    for status in ("pending", "signed", "withdrawn"):
        services.change_status(record.clause, to=status, by=editor, source=record.source)

    plan_now()

    delivery = delivery_of(subscription)
    assert delivery.items.count() == 3  # all three are delivered: none comes again
    assert "And 1 more change: see the timeline." in delivery.body_text


# The ledger ---------------------------------------------------------------------------------


def test_a_new_subscription_does_not_receive_the_past(record, manager):
    # The record's history was recorded before the subscription started.
    assert StatusChange.objects.visible_to(manager).exists()
    subscribe(manager)

    [result] = plan_now()

    assert result.outcome == Outcome.EMPTY
    assert not DigestDelivery.objects.exists()


def test_an_empty_period_sends_nothing_and_moves_on(record, manager):
    subscription = subscribe(manager)
    before = timezone.now()

    [result] = plan_now()
    digests.send_pending_digests(timezone.now())

    assert result.outcome == Outcome.EMPTY
    assert not DigestDelivery.objects.exists()
    assert mail.outbox == []
    subscription.refresh_from_db()
    assert subscription.next_due_at > before


def test_each_change_lands_in_exactly_one_digest(record, manager, editor):
    subscription = subscribe(manager)
    first = services.change_status(record.clause, to="pending", by=editor)
    plan_now()
    second = services.change_status(record.clause, to="signed", by=editor, no_source_yet=True)
    make_due(subscription)

    [result] = plan_now()

    assert result.outcome == Outcome.PLANNED
    deliveries = list(DigestDelivery.objects.filter(subscription=subscription).order_by("pk"))
    assert [changes_in(delivery) for delivery in deliveries] == [{first.pk}, {second.pk}]
    assert deliveries[1].period_start == deliveries[0].period_end


def test_a_change_recorded_while_planning_lands_in_the_next_digest(
    record, manager, editor, monkeypatch
):
    """A change that commits after the planner looked is not lost: it has no item yet."""
    subscription = subscribe(manager)
    first = services.change_status(record.clause, to="pending", by=editor)
    late: list[StatusChange] = []
    collect = digests.pending_changes

    def collect_then_record(*args):
        found = collect(*args)
        if not late:  # between the planner's look and its commit
            late.append(services.change_status(record.topic, to="in_discussion", by=editor))
        return found

    monkeypatch.setattr(digests.content, "pending_changes", collect_then_record)
    plan_now()
    make_due(subscription)
    plan_now()

    deliveries = DigestDelivery.objects.filter(subscription=subscription).order_by("pk")
    assert [changes_in(delivery) for delivery in deliveries] == [{first.pk}, {late[0].pk}]


def test_each_subscription_has_its_own_ledger(record, manager, editor, stakeholder):
    mine, theirs = subscribe(manager), subscribe(stakeholder)
    change = services.change_status(record.clause, to="pending", by=editor)

    plan_now()

    assert changes_in(delivery_of(mine)) == {change.pk}
    assert changes_in(delivery_of(theirs)) == {change.pk}


def test_a_claimed_subscription_is_not_planned_twice(record, manager, editor):
    subscription = subscribe(manager)
    services.change_status(record.clause, to="pending", by=editor)
    stale = Subscription.objects.get(pk=subscription.pk)  # what a second sender read
    now = timezone.now()

    assert digests.plan_digest(subscription, now).outcome == Outcome.PLANNED
    assert digests.plan_digest(stale, now).outcome == Outcome.SKIPPED
    assert DigestDelivery.objects.count() == 1


def test_a_digest_is_not_planned_before_it_is_due(record, manager, editor):
    subscribe(manager, next_due_at=timezone.now() + datetime.timedelta(hours=1))
    services.change_status(record.clause, to="pending", by=editor)

    assert plan_now() == []


def test_turning_a_digest_off_stops_planning(record, manager, editor):
    subscription = subscribe(manager)
    services.change_status(record.clause, to="pending", by=editor)
    digests.turn_off(subscription)

    assert plan_now() == []


def test_a_user_without_an_email_address_gets_nothing(record, manager, editor):
    manager.email = ""
    manager.save()
    subscribe(manager)
    services.change_status(record.clause, to="pending", by=editor)

    [result] = plan_now()

    assert result.outcome == Outcome.EMPTY
    assert not DigestDelivery.objects.exists()


def test_the_preview_writes_nothing(record, manager, editor):
    subscription = subscribe(manager)
    services.change_status(record.clause, to="pending", by=editor)

    subject, text, html = digests.preview_digest(subscription)

    assert "1 clause pending signature" in subject
    assert "Proton launchers" in text and "Proton launchers" in html
    assert not DigestDelivery.objects.exists() and not DigestItem.objects.exists()
    subscription.refresh_from_db()
    assert subscription.next_due_at < timezone.now()


# Sending ------------------------------------------------------------------------------------


def test_it_sends_a_planned_digest_once(record, manager, editor, mailoutbox):
    subscription = subscribe(manager)
    services.change_status(record.clause, to="pending", by=editor)
    plan_now()

    results = digests.send_pending_digests(timezone.now())
    digests.send_pending_digests(timezone.now())

    assert [result.outcome for result in results] == [Outcome.SENT]
    [message] = mailoutbox
    delivery = delivery_of(subscription)
    assert delivery.status == DigestDelivery.Status.SENT and delivery.sent_at
    assert message.to == ["manager@example.org"]
    assert message.subject == delivery.subject
    assert message.extra_headers["Message-ID"] == delivery.message_id
    assert message.extra_headers["List-Unsubscribe"] == f"<{delivery.unsubscribe_url}>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert delivery.unsubscribe_url.startswith(f"{settings.SITE_URL}/unsubscribe/")
    assert message.alternatives[0].mimetype == "text/html"


def test_a_digest_planned_before_unsubscribing_is_not_sent(record, manager, editor, mailoutbox):
    subscription = subscribe(manager)
    services.change_status(record.clause, to="pending", by=editor)
    plan_now()
    digests.turn_off(subscription)

    [result] = digests.send_pending_digests(timezone.now())

    assert result.outcome == Outcome.CANCELLED
    assert mailoutbox == []
    assert delivery_of(subscription).status == DigestDelivery.Status.CANCELLED


# Access lost between planning and sending ---------------------------------------------------


def planned_for_manager(record, manager, editor) -> tuple[Subscription, StatusChange]:
    subscription = subscribe(manager)
    change = services.change_status(record.clause, to="pending", by=editor)
    plan_now()
    return subscription, change


def assert_cancelled_and_released(subscription: Subscription, outbox) -> DigestDelivery:
    """Nothing sent, and the ledger as if the digest had never been planned."""
    [result] = digests.send_pending_digests(timezone.now())
    assert result.outcome == Outcome.CANCELLED
    assert outbox == []
    delivery = delivery_of(subscription)
    assert delivery.status == DigestDelivery.Status.CANCELLED
    assert delivery.last_error == result.error
    assert not DigestItem.objects.filter(subscription=subscription).exists()
    return delivery


def test_a_recipient_removed_from_the_readers_gets_nothing(record, manager, editor, mailoutbox):
    subscription, _change = planned_for_manager(record, manager, editor)
    manager.groups.remove(Group.objects.get(name="Managers"))

    delivery = assert_cancelled_and_released(subscription, mailoutbox)

    assert delivery.last_error == "the recipient may no longer read the tracker"


def test_a_deactivated_recipient_gets_nothing(record, manager, editor, mailoutbox):
    subscription, _change = planned_for_manager(record, manager, editor)
    manager.is_active = False
    manager.save()

    assert_cancelled_and_released(subscription, mailoutbox)


def test_a_digest_is_not_sent_to_an_address_its_owner_gave_up(record, manager, editor, mailoutbox):
    subscription, change = planned_for_manager(record, manager, editor)
    manager.email = "new-address@example.org"
    manager.save()

    delivery = assert_cancelled_and_released(subscription, mailoutbox)
    assert delivery.last_error == "the recipient's address changed"

    # Released, not lost: the next digest carries the change to the new address.
    make_due(subscription)
    [result] = plan_now()
    digests.send_pending_digests(timezone.now())
    assert result.outcome == Outcome.PLANNED
    replanned = DigestDelivery.objects.get(pk=result.delivery_id)
    assert changes_in(replanned) == {change.pk}
    assert [message.to for message in mailoutbox] == [["new-address@example.org"]]


def test_an_item_hidden_after_planning_stops_the_digest_and_the_rest_comes_later(
    record, manager, editor, mailoutbox
):
    subscription = subscribe(manager)
    hidden = services.change_status(record.clause, to="pending", by=editor)
    kept = services.change_status(record.topic, to="in_discussion", by=editor)
    statement = Statement.objects.create(
        person=record.speaker,
        said_on=datetime.date(2012, 11, 23),
        summary="Still to be signed.",
        agreement=record.agreement,
    )
    plan_now()
    Clause.objects.filter(pk=record.clause.pk).update(visibility=Visibility.INTERNAL)

    delivery = assert_cancelled_and_released(subscription, mailoutbox)
    assert delivery.last_error == "an item was hidden from the recipient"

    make_due(subscription)
    [result] = plan_now()
    digests.send_pending_digests(timezone.now())
    replanned = DigestDelivery.objects.get(pk=result.delivery_id)
    assert changes_in(replanned) == {kept.pk}
    assert list(replanned.items.exclude(statement=None).values_list("statement", flat=True)) == [
        statement.pk
    ]
    [message] = mailoutbox
    assert "Proton launchers" not in message.body
    assert hidden.pk not in changes_in(replanned)


def test_a_statement_hidden_after_planning_stops_the_digest(record, manager, mailoutbox):
    subscription = subscribe(manager)
    statement = Statement.objects.create(
        person=record.speaker,
        said_on=datetime.date(2012, 11, 23),
        summary="Said in confidence.",
        agreement=record.agreement,
    )
    plan_now()
    Statement.objects.filter(pk=statement.pk).update(visibility=Visibility.INTERNAL)

    assert_cancelled_and_released(subscription, mailoutbox)


def test_staff_still_get_internal_items_planned_for_them(record, editor, mailoutbox):
    subscription = subscribe(editor)
    services.change_status(record.internal_clause, to="pending", by=editor)
    plan_now()

    [result] = digests.send_pending_digests(timezone.now())

    assert result.outcome == Outcome.SENT
    assert delivery_of(subscription).items.count() == 1


def test_the_check_before_sending_costs_the_same_whatever_the_number_of_items(
    record, manager, stakeholder, editor
):
    few = subscribe(manager, follows_everything=False)
    few.topics.add(record.topic)
    many = subscribe(stakeholder)
    services.change_status(record.topic, to="in_discussion", by=editor)
    for clause in (record.clause, record.second_clause):
        services.change_status(clause, to="pending", by=editor)
        services.change_status(clause, to="signed", by=editor, no_source_yet=True)
    plan_now()
    assert (delivery_of(few).items.count(), delivery_of(many).items.count()) == (1, 5)

    queries = {}
    for subscription in (few, many):
        delivery = DigestDelivery.objects.select_related("subscription__user").get(
            subscription=subscription
        )
        with CaptureQueriesContext(connection) as captured:
            assert digests.sending.why_not_deliverable(delivery) == ""
        queries[subscription.pk] = len(captured)

    # Who may read, what the deliveries hold, and the hidden items.
    assert queries[few.pk] == queries[many.pk] == 3


def test_a_sender_that_died_mid_send_is_taken_over_after_its_lease(
    record, manager, editor, mailoutbox
):
    subscription = subscribe(manager)
    services.change_status(record.clause, to="pending", by=editor)
    plan_now()
    now = timezone.now()
    assert digests.claim_next_delivery(now) is not None  # ... and the sender dies

    assert digests.send_pending_digests(now) == []  # its lease still holds
    later = now + digests.SENDING_LEASE + datetime.timedelta(seconds=1)
    [result] = digests.send_pending_digests(later)

    assert result.outcome == Outcome.SENT
    assert len(mailoutbox) == 1
    assert delivery_of(subscription).attempts == 2


def test_a_digest_about_one_topic_is_named_after_it(record, manager, editor):
    subscribe(manager, follows_everything=False).topics.add(record.topic)
    services.change_status(record.topic, to="in_discussion", by=editor)

    plan_now()

    assert DigestDelivery.objects.get().subject == (
        "Juice cooperation: 1 topic changed — daily digest"
    )


def test_an_internal_programme_is_not_named_in_the_subject(record, manager, editor):
    Programme.objects.filter(pk=record.programme.pk).update(visibility=Visibility.INTERNAL)
    subscribe(manager)
    services.change_status(record.clause, to="pending", by=editor)
    services.change_status(record.second_clause, to="pending", by=editor)

    plan_now()

    subject = DigestDelivery.objects.get().subject
    assert not subject.startswith("ExoMars:")
    assert subject == "ExoMars cooperation: 2 clauses pending signature — daily digest"


def test_one_subscription_that_cannot_be_planned_holds_up_no_one(
    record, manager, stakeholder, editor, monkeypatch
):
    broken, fine = subscribe(manager), subscribe(stakeholder)
    services.change_status(record.clause, to="pending", by=editor)
    render = digests.render_digest

    def render_or_fail(subscription, *args, **kwargs):
        if subscription.pk == broken.pk:
            raise RuntimeError("a template bug")
        return render(subscription, *args, **kwargs)

    monkeypatch.setattr(digests.planning, "render_digest", render_or_fail)
    outcomes = {result.subscription_id: result.outcome for result in plan_now()}

    assert outcomes == {broken.pk: Outcome.FAILED, fine.pk: Outcome.PLANNED}
    assert not DigestItem.objects.filter(subscription=broken).exists()
    broken.refresh_from_db()
    assert broken.next_due_at < timezone.now()  # the claim rolled back: retried next run
