"""Invariant 3 under real concurrency: several senders at once, changes committed while a
digest is being planned. Real threads, each with its own database connection: real row
locks, SKIP LOCKED.
"""

import datetime
import io
import threading

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from agreements import digests, services
from agreements.models import DigestDelivery, DigestItem, StatusChange, Subscription
from agreements.roles import ensure_roles
from tests.conftest import Record, make_user

pytestmark = [
    pytest.mark.django_db(transaction=True),
]

THREAD_TIMEOUT = 60


@pytest.fixture
def people():
    # A transactional test starts from a flushed database: bring the roles back.
    ensure_roles()
    editor = make_user("editor", group="Editors", staff=True)
    managers = [make_user(f"manager{n}", group="Managers") for n in range(12)]
    return editor, managers


def in_thread(target, *args) -> threading.Thread:
    errors: list[BaseException] = []

    def run():
        try:
            target(*args)
        except BaseException as error:  # reported by join_all
            errors.append(error)
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=run)
    thread.errors = errors
    thread.start()
    return thread


def join_all(*threads: threading.Thread) -> None:
    """Wait for every thread (none may outlive the test: its flush would wait on it), then
    raise the first error any of them had."""
    for thread in threads:
        thread.join(THREAD_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    for thread in threads:
        if thread.errors:
            raise thread.errors[0]


def test_four_senders_at_once_send_one_digest_per_subscription_and_period(people, mailoutbox):
    editor, managers = people
    now = timezone.now()
    for manager in managers:
        Subscription.objects.create(
            user=manager, frequency="daily", next_due_at=now - datetime.timedelta(minutes=1)
        )
    record = Record(editor)  # every manager follows everything: the whole record is new
    services.change_status(record.clause, to="pending", by=editor)
    before_the_run = set(StatusChange.objects.visible_to(managers[0]).values_list("pk", flat=True))
    start = threading.Barrier(5)
    senders_done = threading.Event()
    moment = (now + datetime.timedelta(seconds=1)).isoformat()

    def sender():
        start.wait(THREAD_TIMEOUT)
        call_command("send_digests", "--now", moment, stdout=io.StringIO())

    def editor_at_work():
        # Changes keep arriving during the run: they belong to the next period, and must not
        # give any subscription a second digest in this one.
        start.wait(THREAD_TIMEOUT)
        statuses = ["signed", "pending"]
        while not senders_done.is_set():
            services.change_status(
                record.second_clause, to=statuses[0], by=editor, no_source_yet=True
            )
            statuses.reverse()

    senders = [in_thread(sender) for _ in range(4)]
    recorder = in_thread(editor_at_work)
    try:
        join_all(*senders)
    finally:
        senders_done.set()
        join_all(recorder)

    assert DigestDelivery.objects.count() == len(managers)
    assert set(DigestDelivery.objects.values_list("status", flat=True)) == {"sent"}
    recipients = sorted(message.to[0] for message in mailoutbox)
    assert recipients == sorted(manager.email for manager in managers)
    message_ids = [message.extra_headers["Message-ID"] for message in mailoutbox]
    assert len(set(message_ids)) == len(managers)
    for subscription in Subscription.objects.all():
        attached = set(
            DigestItem.objects.filter(subscription=subscription, change__isnull=False).values_list(
                "change_id", flat=True
            )
        )
        # Everything they may see that was recorded before the run is in this period's digest.
        assert before_the_run <= attached


def test_a_change_committed_late_with_an_older_id_is_not_lost(people):
    """The watermark trap of DESIGN.md: B is recorded (older id and time) before C, but
    commits after the digest that holds C was planned. B must come in the next digest."""
    editor, managers = people
    record = Record(editor)  # before the subscription: its creation is not news to it
    subscription = Subscription.objects.create(
        user=managers[0], frequency="daily", next_due_at=timezone.now()
    )
    a = services.change_status(record.clause, to="pending", by=editor)
    b_recorded, b_may_commit = threading.Event(), threading.Event()
    b: list[StatusChange] = []

    def slow_editor():
        with transaction.atomic():
            b.append(services.change_status(record.topic, to="in_discussion", by=editor))
            b_recorded.set()
            assert b_may_commit.wait(THREAD_TIMEOUT)

    thread = in_thread(slow_editor)
    assert b_recorded.wait(THREAD_TIMEOUT)
    c = services.change_status(record.second_clause, to="signed", by=editor, no_source_yet=True)
    assert c.pk > b[0].pk and c.recorded_at > b[0].recorded_at

    digests.plan_due_digests(timezone.now())
    b_may_commit.set()
    join_all(thread)
    Subscription.objects.filter(pk=subscription.pk).update(next_due_at=timezone.now())
    digests.plan_due_digests(timezone.now())

    deliveries = DigestDelivery.objects.filter(subscription=subscription).order_by("pk")
    contents = [set(d.items.values_list("change_id", flat=True)) for d in deliveries]
    assert contents == [{a.pk, c.pk}, {b[0].pk}]


def test_a_change_committed_while_a_digest_is_planned_lands_in_the_next(people, monkeypatch):
    editor, managers = people
    record = Record(editor)  # before the subscription: its creation is not news to it
    subscription = Subscription.objects.create(
        user=managers[0], frequency="daily", next_due_at=timezone.now()
    )
    first = services.change_status(record.clause, to="pending", by=editor)
    late: list[StatusChange] = []
    collect = digests.pending_changes

    def collect_then_commit_elsewhere(*args):
        found = collect(*args)
        if not late:
            # Another editor commits between the planner's look and the planner's commit.
            join_all(
                in_thread(
                    lambda: late.append(
                        services.change_status(record.topic, to="in_discussion", by=editor)
                    )
                )
            )
        return found

    monkeypatch.setattr(digests.content, "pending_changes", collect_then_commit_elsewhere)
    digests.plan_due_digests(timezone.now())
    Subscription.objects.filter(pk=subscription.pk).update(next_due_at=timezone.now())
    digests.plan_due_digests(timezone.now())

    deliveries = DigestDelivery.objects.filter(subscription=subscription).order_by("pk")
    contents = [set(d.items.values_list("change_id", flat=True)) for d in deliveries]
    assert contents == [{first.pk}, {late[0].pk}]


def test_two_senders_never_claim_the_same_delivery(people):
    editor, managers = people
    now = timezone.now()
    for manager in managers:
        Subscription.objects.create(user=manager, frequency="daily", next_due_at=now)
    record = Record(editor)
    services.change_status(record.clause, to="pending", by=editor)
    digests.plan_due_digests(now)
    claimed: list[list[int]] = [[] for _ in range(4)]
    start = threading.Barrier(4)

    def claimer(mine: list[int]):
        start.wait(THREAD_TIMEOUT)
        while (delivery := digests.claim_next_delivery(now)) is not None:
            mine.append(delivery.pk)

    join_all(*[in_thread(claimer, mine) for mine in claimed])

    everything = [pk for mine in claimed for pk in mine]
    assert sorted(everything) == sorted(DigestDelivery.objects.values_list("pk", flat=True))
    assert len(everything) == len(managers)
