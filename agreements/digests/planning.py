"""Planning digests into the ledger: one transaction per subscription."""

from __future__ import annotations

import datetime
import enum
import itertools
import logging
import secrets
from dataclasses import dataclass

from django.db import transaction
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
from .content import collect
from .schedule import next_due_after, schedule_subscriptions
from .unsubscribe import unsubscribe_url
from .wording import email_locale, render_digest

logger = logging.getLogger(__name__)

ITEM_BATCH_SIZE = 1000  # ledger rows per INSERT
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
    last_end = (
        DigestDelivery.objects.filter(subscription=subscription)
        .order_by("-period_end")
        .values_list("period_end", flat=True)
        .first()
    )
    if last_end is None or last_end < subscription.created_at:
        return subscription.created_at
    return last_end


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


def idle_items(subscription: Subscription, delivery: DigestDelivery, records: list):
    """The ledger rows of the records that turned idle: each named by its record and the
    day its quiet began, so the same quiet spell is never in two digests."""
    for record in records:
        field = "idle_clause" if isinstance(record, Clause) else "idle_topic"
        yield DigestItem(
            subscription=subscription,
            delivery=delivery,
            idle_since=record.idle_since,
            **{field: record},
        )


def plan_digest(subscription: Subscription, now: datetime.datetime) -> DigestResult:
    """Plan this subscription's digest for the period ending `now`, in one transaction.

    `subscription.next_due_at` is the value this planner saw; the claim (a conditional
    UPDATE) succeeds only if nobody moved it since. Its row lock is held to the end of the
    transaction: a concurrent planner skips the locked row, or finds
    `next_due_at` moved; either way it plans nothing for this period.
    """
    result = DigestResult(
        outcome=Outcome.SKIPPED,
        subscription_id=subscription.pk,
        recipient=subscription.user.email,
    )
    with transaction.atomic(), email_locale(subscription.language_code):
        claim = Subscription.objects.filter(
            pk=subscription.pk, next_due_at=subscription.next_due_at
        ).exclude(frequency=Subscription.Frequency.OFF)
        if not list(claim.select_for_update(skip_locked=True).values_list("pk", flat=True)):
            # Another planner holds it (or it moved on): go on to the next subscription
            # rather than queue behind that planner's transaction.
            return result
        if claim.update(next_due_at=next_due_after(subscription, now)) != 1:
            return result
        result.outcome = Outcome.EMPTY
        if not subscription.user.email:
            result.error = _("no email address")
            return result
        content = collect(subscription, clock.today(now))
        if content.is_empty:
            return result
        period_start = period_start_for(subscription)
        unsubscribe = unsubscribe_url(subscription)
        rendered = render_digest(
            subscription,
            content,
            period_start=period_start,
            period_end=now,
            unsubscribe=unsubscribe,
        )
        delivery = DigestDelivery.objects.create(
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
        )
        # The ledger. A duplicate here would violate the unique constraints and roll the
        # whole plan back, claim included: never a change in two digests. Built a batch at a
        # time so that a digest of 100,000 changes does not hold 100,000 model instances.
        items = itertools.chain(
            (
                DigestItem(subscription=subscription, delivery=delivery, change_id=row.pk)
                for row in content.changes.rows
            ),
            (
                DigestItem(subscription=subscription, delivery=delivery, statement=statement)
                for statement in content.statements
            ),
            (
                DigestItem(subscription=subscription, delivery=delivery, version=version)
                for version in content.versions
            ),
            (
                DigestItem(subscription=subscription, delivery=delivery, position=position)
                for position in content.positions
            ),
            idle_items(subscription, delivery, content.idle),
        )
        while batch := list(itertools.islice(items, ITEM_BATCH_SIZE)):
            DigestItem.objects.bulk_create(batch)
    result.outcome = Outcome.PLANNED
    result.subject = rendered.subject
    result.items = content.item_count
    result.delivery_id = delivery.pk
    logger.info(
        "digest %s planned for subscription %s: %s items",
        delivery.pk,
        subscription.pk,
        result.items,
    )
    return result


def due_subscriptions(now: datetime.datetime):
    return (
        Subscription.objects.filter(next_due_at__lte=now)
        .exclude(frequency=Subscription.Frequency.OFF)
        .order_by("next_due_at", "pk")
    )


def plan_due_digests(
    now: datetime.datetime, *, chunk_size: int = 200, progress=None
) -> list[DigestResult]:
    """Plan a digest for every subscription that is due. Safe to run on several machines at
    once: each subscription is claimed by exactly one of them."""
    schedule_subscriptions(now)
    results = []
    ids = list(due_subscriptions(now).values_list("pk", flat=True))
    for start in range(0, len(ids), chunk_size):
        chunk = due_subscriptions(now).filter(pk__in=ids[start : start + chunk_size])
        for subscription in chunk.select_related("user"):
            try:
                results.append(plan_digest(subscription, now))
            except Exception as error:
                # Its transaction rolled back, claim included: it is retried next run. One
                # subscription that cannot be planned must not hold up everyone else's.
                logger.exception("digest for subscription %s not planned", subscription.pk)
                results.append(
                    DigestResult(
                        outcome=Outcome.FAILED,
                        subscription_id=subscription.pk,
                        recipient=subscription.user.email,
                        error=f"{type(error).__name__}: {error}",
                    )
                )
            if progress is not None:
                progress(len(results), len(ids))
    return results
