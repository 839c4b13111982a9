"""Planning digests into the ledger: a batch of subscriptions per transaction."""

from __future__ import annotations

import datetime
import enum
import itertools
import logging
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Case, DateTimeField, Max, Q, Value, When
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from .. import clock
from ..emails import RenderedEmail, site_host
from ..models import (
    Clause,
    DigestDelivery,
    DigestItem,
    Subscription,
)
from .content import DigestContent, PlanningRun, collect, collect_batch, standing_amounts
from .links import link_items
from .schedule import next_due_after, schedule_subscriptions
from .unsubscribe import unsubscribe_url
from .wording import email_locale, render_digest

logger = logging.getLogger(__name__)

ITEM_BATCH_SIZE = 1000  # ledger rows per INSERT
# Subscriptions planned in one transaction: enough that the per-batch queries vanish per
# digest, few enough that a batch holds its row locks and memory briefly.
BATCH_SIZE = 200
SUBJECT_MAX_LENGTH = DigestDelivery._meta.get_field("subject").max_length


class Outcome(enum.StrEnum):
    PLANNED = "planned"  # a delivery was written to the ledger
    EMPTY = "empty"  # nothing new: no delivery, the next period is scheduled
    SKIPPED = "skipped"  # another planner or sender got there first
    SENT = "sent"
    RETRY = "retry"  # the mail server refused; back to pending for a later attempt
    FAILED = "failed"  # gave up after MAX_ATTEMPTS
    CANCELLED = "cancelled"  # between planning and sending, unsubscribed or lost access


@dataclass
class DigestResult:
    """What happened to one subscription's digest in this run, for the command's output."""

    outcome: Outcome
    subscription_id: int
    recipient: str = ""
    subject: str = ""
    items: int = 0
    delivery_id: int | None = None
    error: str = ""


def period_start_for(subscription: Subscription) -> datetime.datetime:
    """Since the end of the last digest, or since the subscription started."""
    return period_starts([subscription])[subscription.pk]


def period_starts(subscriptions: list[Subscription]) -> dict[int, datetime.datetime]:
    """`period_start_for` each of them, in one query."""
    last_ends = dict(
        DigestDelivery.objects.filter(subscription__in=[s.pk for s in subscriptions])
        .order_by()
        .values("subscription_id")
        .annotate(last_end=Max("period_end"))
        .values_list("subscription_id", "last_end")
    )
    starts = {}
    for subscription in subscriptions:
        last_end = last_ends.get(subscription.pk)
        if last_end is None or last_end < subscription.created_at:
            starts[subscription.pk] = subscription.created_at
        else:
            starts[subscription.pk] = last_end
    return starts


def preview_digest(
    subscription: Subscription, now: datetime.datetime | None = None
) -> RenderedEmail:
    """The subscription's next digest as it stands: (subject, text, html). Writes nothing,
    attaches nothing: for the admin and the staff preview page."""
    now = now or timezone.now()
    with email_locale(subscription.language_code):
        content = collect(subscription, clock.today(now))
        return render_digest(
            subscription,
            content,
            period_start=period_start_for(subscription),
            period_end=now,
            unsubscribe=unsubscribe_url(subscription),
        )


# Planning -----------------------------------------------------------------------------------


def _message_id(subscription: Subscription) -> str:
    """Unique (64 random bits, and a unique column) and short enough not to be folded."""
    return f"<digest.{subscription.pk}.{secrets.token_hex(8)}@{site_host()}>"


def idle_items(owner: int, delivery: DigestDelivery, records: list):
    """The ledger rows of the records that turned idle: each named by its record and the
    day its quiet began, so the same quiet spell is never in two digests."""
    for record in records:
        field = "idle_clause" if isinstance(record, Clause) else "idle_topic"
        yield DigestItem(
            subscription_id=owner,
            delivery=delivery,
            idle_since=record.idle_since,
            **{field: record},
        )


def plan_digest(subscription: Subscription, now: datetime.datetime) -> DigestResult:
    """Plan this subscription's digest for the period ending `now`: a batch of one.

    `subscription.next_due_at` is the value this planner saw; the claim succeeds only if
    nobody moved it since.
    """
    claim = Q(pk=subscription.pk, next_due_at=subscription.next_due_at)
    [result] = plan_batch(claim, now, expected=[subscription])
    return result


def plan_batch(
    claim: Q,
    now: datetime.datetime,
    *,
    expected: list[Subscription] = (),
    run: PlanningRun | None = None,
) -> list[DigestResult]:
    """Plan the digests of the subscriptions that `claim` selects, in one transaction.

    The claim is healthchecks' optimistic lock, for a batch: `SELECT … FOR UPDATE SKIP
    LOCKED` of the rows that still match `claim` (still due, or `next_due_at` as the caller
    saw it), then, once planned, a conditional UPDATE of their `next_due_at` under that
    lock. A concurrent planner skips the locked rows, or finds them moved on; either way
    it plans nothing for this period. What each digest holds is read with set-based
    queries over the batch (`content.collect_batch`); the deliveries and their ledger
    items are inserted in bulk. A duplicate item would violate the ledger's unique
    constraints and roll the whole batch back, claims included: never a change in two
    digests.

    A digest that cannot be rendered fails alone: its claim is not taken (its lock ends
    with the transaction), so it is retried next run. Subscriptions in `expected` that
    could not be claimed come back SKIPPED.

    `run`, one for all the batches of `plan_due_digests`, lets them share the reads that
    do not depend on the batch (`content.PlanningRun`: what has gone quiet).
    """
    results: dict[int, DigestResult] = {}
    advance: dict[int, datetime.datetime | None] = {}
    deliveries: list[tuple[DigestDelivery, DigestContent]] = []
    with transaction.atomic():
        claimed = list(
            Subscription.objects.filter(claim)
            .exclude(frequency=Subscription.Frequency.OFF)
            .select_related("user")
            .order_by("next_due_at", "pk")
            # Another planner's rows are skipped rather than waited for.
            .select_for_update(skip_locked=True, of=("self",))
        )
        if not claimed:
            return _skipped(expected, results)
        with_address = [s for s in claimed if s.user.email]
        contents = collect_batch(with_address, clock.today(now), run) if with_address else {}
        starts = period_starts(with_address) if with_address else {}
        for subscription in claimed:
            result = DigestResult(
                outcome=Outcome.EMPTY,
                subscription_id=subscription.pk,
                recipient=subscription.user.email,
            )
            results[subscription.pk] = result
            content = contents.get(subscription.pk)
            if content is None:
                result.error = _("no email address")
            elif not content.is_empty:
                try:
                    delivery = _delivery(subscription, content, starts[subscription.pk], now)
                except Exception as error:
                    # One digest that cannot be rendered must not hold up the others'.
                    logger.exception("digest for subscription %s not planned", subscription.pk)
                    result.outcome = Outcome.FAILED
                    result.error = f"{type(error).__name__}: {error}"
                    continue
                deliveries.append((delivery, content))
                result.outcome = Outcome.PLANNED
                result.subject = delivery.subject
                result.items = content.item_count
            advance[subscription.pk] = next_due_after(subscription, now)
        DigestDelivery.objects.bulk_create([delivery for delivery, _content in deliveries])
        items = ledger_items(deliveries)
        while chunk := list(itertools.islice(items, ITEM_BATCH_SIZE)):
            DigestItem.objects.bulk_create(chunk)
        if advance:
            moved = (
                Subscription.objects.filter(claim, pk__in=list(advance))
                .exclude(frequency=Subscription.Frequency.OFF)
                .update(
                    next_due_at=Case(
                        *(When(pk=pk, then=Value(due)) for pk, due in advance.items()),
                        output_field=DateTimeField(),
                    )
                )
            )
            if moved != len(advance):  # cannot happen under the row locks; never guess
                raise RuntimeError(f"claimed {len(advance)} subscriptions, moved {moved}")
    for delivery, content in deliveries:
        results[delivery.subscription_id].delivery_id = delivery.pk
        logger.info(
            "digest %s planned for subscription %s: %s items",
            delivery.pk,
            delivery.subscription_id,
            content.item_count,
        )
    return _skipped(expected, results)


def _skipped(expected, results: dict[int, DigestResult]) -> list[DigestResult]:
    for subscription in expected:
        results.setdefault(
            subscription.pk,
            DigestResult(
                outcome=Outcome.SKIPPED,
                subscription_id=subscription.pk,
                recipient=subscription.user.email,
            ),
        )
    return list(results.values())


def _delivery(
    subscription: Subscription,
    content: DigestContent,
    period_start: datetime.datetime,
    now: datetime.datetime,
) -> DigestDelivery:
    """The delivery, rendered in its subscriber's language, not yet saved."""
    with email_locale(subscription.language_code):
        unsubscribe = unsubscribe_url(subscription)
        rendered = render_digest(
            subscription,
            content,
            period_start=period_start,
            period_end=now,
            unsubscribe=unsubscribe,
        )
    return DigestDelivery(
        subscription=subscription,
        period_start=period_start,
        period_end=now,
        message_id=_message_id(subscription),
        recipient=subscription.user.email,
        subject=Truncator(rendered.subject).chars(SUBJECT_MAX_LENGTH),
        body_text=rendered.text,
        body_html=rendered.html,
        unsubscribe_url=unsubscribe,
        next_attempt_at=now,
        planned_at=now,
        standing=standing_amounts(content.standing),
    )


def ledger_items(deliveries: list[tuple[DigestDelivery, DigestContent]]):
    """The ledger rows of these (saved) deliveries, generated so that `bulk_create` holds
    one `ITEM_BATCH_SIZE` of model instances at a time, not a 100,000-change digest's
    worth."""
    for delivery, content in deliveries:
        owner = delivery.subscription_id
        for row in content.changes.rows:
            yield DigestItem(subscription_id=owner, delivery=delivery, change_id=row.pk)
        for statement in content.statements:
            yield DigestItem(subscription_id=owner, delivery=delivery, statement=statement)
        for version in content.versions:
            yield DigestItem(subscription_id=owner, delivery=delivery, version=version)
        for position in content.positions:
            yield DigestItem(subscription_id=owner, delivery=delivery, position=position)
        yield from link_items(owner, delivery, content)
        yield from idle_items(owner, delivery, content.idle)


def due_subscriptions(now: datetime.datetime):
    return (
        Subscription.objects.filter(next_due_at__lte=now)
        .exclude(frequency=Subscription.Frequency.OFF)
        .order_by("next_due_at", "pk")
    )


def plan_due_digests(
    now: datetime.datetime, *, chunk_size: int = BATCH_SIZE, progress=None
) -> list[DigestResult]:
    """Plan a digest for every subscription that is due, a batch at a time. Safe to run on
    several machines at once: each subscription is claimed by exactly one of them."""
    schedule_subscriptions(now)
    results: list[DigestResult] = []
    run = PlanningRun()
    ids = list(due_subscriptions(now).values_list("pk", flat=True))
    for start in range(0, len(ids), chunk_size):
        chunk = ids[start : start + chunk_size]
        try:
            planned = plan_batch(Q(pk__in=chunk, next_due_at__lte=now), now, run=run)
        except Exception:
            # The batch rolled back, claims included. Plan its subscriptions one by one, so
            # that one that cannot be planned holds up no one else's digest.
            logger.exception("a batch of %s digests failed; planning them one by one", len(chunk))
            planned = [result for pk in chunk for result in _plan_alone(pk, now)]
        results.extend(planned)
        if progress is not None:
            for _result in planned:
                progress(len(results), len(ids))
    return results


def _plan_alone(pk: int, now: datetime.datetime) -> list[DigestResult]:
    try:
        return plan_batch(Q(pk=pk, next_due_at__lte=now), now)
    except Exception as error:
        # Its transaction rolled back, claim included: it is retried next run.
        logger.exception("digest for subscription %s not planned", pk)
        subscription = Subscription.objects.select_related("user").filter(pk=pk).first()
        return [
            DigestResult(
                outcome=Outcome.FAILED,
                subscription_id=pk,
                recipient=subscription.user.email if subscription else "",
                error=f"{type(error).__name__}: {error}",
            )
        ]
