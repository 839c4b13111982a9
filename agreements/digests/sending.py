"""Sending planned digests: claim a batch of deliveries, mark each sent once accepted."""

from __future__ import annotations

import datetime
import logging
import operator
import time
from collections import defaultdict
from functools import reduce

from django.core.mail import mailers
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from ..emails import build_message, unsubscribe_headers
from ..models import (
    Clause,
    ClauseVersion,
    DigestDelivery,
    DigestItem,
    Link,
    Position,
    Statement,
    StatusChange,
    Subscription,
    Topic,
    audience,
    can_read,
    remember_readers,
)
from .planning import DigestResult, Outcome

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
FIRST_RETRY_DELAY = datetime.timedelta(minutes=10)  # doubled after each failed attempt
# A delivery in `sending` whose lease has run out was claimed by a sender that died; the
# next sender takes it over. Far longer than one SMTP exchange (timeout 30 s).
SENDING_LEASE = datetime.timedelta(minutes=15)
# Deliveries claimed and checked together. Small: the check before sending is as old as
# its batch, and a refusal gives the rest of the batch back.
SEND_BATCH_SIZE = 50


def claim_deliveries(now: datetime.datetime, limit: int = SEND_BATCH_SIZE) -> list[DigestDelivery]:
    """Take up to `limit` due deliveries for this sender: `pending` and due, or `sending`
    with an expired lease (its sender died). Returns them in `sending`, each with its
    attempt counted, in two queries whatever their number."""
    due = DigestDelivery.objects.filter(
        Q(status=DigestDelivery.Status.PENDING) | Q(status=DigestDelivery.Status.SENDING),
        next_attempt_at__lte=now,
    ).order_by("next_attempt_at", "pk")
    with transaction.atomic():
        # Concurrent senders skip each other's rows instead of queueing behind them.
        deliveries = list(
            due.select_related("subscription__user").select_for_update(
                skip_locked=True, of=("self",)
            )[:limit]
        )
        if not deliveries:
            return []
        # The row locks are the claim; the conditional update checks that the rows are
        # still as read (they always are with the locks held).
        claimed = due.filter(pk__in=[delivery.pk for delivery in deliveries]).update(
            status=DigestDelivery.Status.SENDING,
            attempts=F("attempts") + 1,
            next_attempt_at=now + SENDING_LEASE,
        )
        if claimed != len(deliveries):
            raise RuntimeError(f"locked {len(deliveries)} deliveries, claimed {claimed}")
    for delivery in deliveries:
        delivery.status = DigestDelivery.Status.SENDING
        delivery.attempts += 1
        delivery.next_attempt_at = now + SENDING_LEASE
    return deliveries


def claim_next_delivery(now: datetime.datetime) -> DigestDelivery | None:
    """Take one due delivery for this sender (see `claim_deliveries`)."""
    claimed = claim_deliveries(now, limit=1)
    return claimed[0] if claimed else None


def release(deliveries: list[DigestDelivery], now: datetime.datetime) -> None:
    """Give back claimed deliveries this sender will not send in this run, as they were
    before the claim (their attempt not counted), due now; only those still ours."""
    if not deliveries:
        return
    ours = Q(pk__in=[])
    for delivery in deliveries:
        ours |= Q(pk=delivery.pk, attempts=delivery.attempts)
    DigestDelivery.objects.filter(ours, status=DigestDelivery.Status.SENDING).update(
        status=DigestDelivery.Status.PENDING, attempts=F("attempts") - 1, next_attempt_at=now
    )


def delivery_message(delivery: DigestDelivery):
    headers = {
        "Message-ID": delivery.message_id,
        "Auto-Submitted": "auto-generated",
        **unsubscribe_headers(delivery.unsubscribe_url),
    }
    return build_message(
        to=delivery.recipient,
        subject=delivery.subject,
        text=delivery.body_text,
        html=delivery.body_html,
        headers=headers,
    )


def _claimed(delivery: DigestDelivery):
    """This sender's claim on the delivery, so a sender whose lease ran out writes nothing."""
    return DigestDelivery.objects.filter(
        pk=delivery.pk, status=DigestDelivery.Status.SENDING, attempts=delivery.attempts
    )


def why_not_deliverable(delivery: DigestDelivery) -> str:
    """Why this planned delivery must not go out now, or "" if it may (see
    `undeliverable`): three queries at most, whatever the number of its items."""
    return undeliverable([delivery]).get(delivery.pk, "")


def undeliverable(deliveries: list[DigestDelivery]) -> dict[int, str]:
    """Why each of these claimed deliveries must not go out now, by id; absent if it may.

    Its body was rendered when it was planned, for what the recipient could read then.
    Minutes later, or after hours of retries, they may have turned the digest off, lost
    their reader group or their account, or changed address, or an item may have been made
    internal: the stored body would then tell them what they may no longer see. The items
    are checked through the `visible_to` rule that planned them: one query for who may
    read, one for what the deliveries hold, and one per audience for hidden items, whatever
    the number of deliveries and items.

    Each visibility subquery is narrowed to the records these deliveries hold. Without that,
    PostgreSQL hashes the subquery once per query, that is every record of the kind the
    audience may see (the whole history of status changes), and the check grew with the
    history rather than with the batch.
    """
    reasons: dict[int, str] = {}
    remember_readers([delivery.subscription.user for delivery in deliveries])
    by_audience: dict[str, list[DigestDelivery]] = defaultdict(list)
    for delivery in deliveries:
        subscription = delivery.subscription
        user = subscription.user
        if subscription.frequency == Subscription.Frequency.OFF:
            reasons[delivery.pk] = "unsubscribed before it was sent"
        elif not can_read(user):
            reasons[delivery.pk] = "the recipient may no longer read the tracker"
        elif user.email != delivery.recipient:
            reasons[delivery.pk] = "the recipient's address changed"
        else:
            by_audience[audience(user)].append(delivery)
    if not by_audience:
        return reasons
    held = _held_records([delivery.pk for members in by_audience.values() for delivery in members])
    for members in by_audience.values():
        user = members[0].subscription.user  # every member sees the same records
        ids = [delivery.pk for delivery in members]
        hidden_items = []
        for field, model in ITEM_RECORDS.items():
            records = {pk for delivery in ids for pk in held[delivery][field]}
            if records:
                visible = model.objects.visible_to(user).filter(
                    pk=OuterRef(f"{field}_id"), pk__in=sorted(records)
                )
                hidden_items.append(Q(**{f"{field}__isnull": False}) & ~Exists(visible))
        if not hidden_items:  # nothing in these deliveries to check
            continue
        hidden = (
            DigestItem.objects.filter(delivery__in=ids)
            .filter(reduce(operator.or_, hidden_items))
            .order_by()
            .values_list("delivery_id", flat=True)
            .distinct()
        )
        for pk in hidden:
            reasons[pk] = "an item was hidden from the recipient"
    return reasons


# The record each kind of ledger row names, by its field on `DigestItem`.
ITEM_RECORDS = {
    "change": StatusChange,
    "statement": Statement,
    "version": ClauseVersion,
    "position": Position,
    "link": Link,
    "idle_clause": Clause,
    "idle_topic": Topic,
}


def _held_records(deliveries: list[int]) -> dict[int, dict[str, set[int]]]:
    """The records each delivery's items name, by field: {delivery: {"change": {ids}}};
    a delivery without items has only empty sets. One query."""
    fields = [f"{field}_id" for field in ITEM_RECORDS]
    held = defaultdict(lambda: {field: set() for field in ITEM_RECORDS})
    for delivery, *records in DigestItem.objects.filter(delivery__in=deliveries).values_list(
        "delivery_id", *fields
    ):
        for field, pk in zip(ITEM_RECORDS, records, strict=True):
            if pk is not None:
                held[delivery][field].add(pk)
    return held


def cancel_delivery(delivery: DigestDelivery, reason: str) -> bool:
    """Cancel a claimed delivery and give its items back to the ledger.

    Without its items the ledger reads as if this digest had never been planned: the next
    plan takes again whatever the recipient may then see (nothing lost), and only that
    (nothing leaked: planning applies the visibility rule afresh). False if another sender
    took the delivery over, when this one's lease ran out.
    """
    with transaction.atomic():
        if _claimed(delivery).update(status=DigestDelivery.Status.CANCELLED, last_error=reason):
            DigestItem.objects.filter(delivery=delivery).delete()
            return True
    return False


def send_delivery(delivery: DigestDelivery, mailer, now: datetime.datetime) -> DigestResult:
    """Check and send one claimed delivery, and record the outcome (see `send_checked`)."""
    return send_checked(delivery, mailer, now, why_not_deliverable(delivery))


def send_checked(
    delivery: DigestDelivery, mailer, now: datetime.datetime, reason: str
) -> DigestResult:
    """Send one claimed delivery, unless `reason` (from `undeliverable`) says it must not
    go out, and record the outcome.

    The crash window: if this process dies after the mail server accepted the message and
    before the UPDATE to `sent` commits, the delivery stays in `sending` until its lease
    runs out, and the next sender sends it again, with the same Message-ID (mail clients
    that thread or deduplicate by Message-ID show it once). Nothing is ever lost: at worst
    one message is repeated. Marking it sent *before* sending would instead lose it; and
    marking a batch sent together would widen the window to the batch, so each is marked
    on its own.
    """
    result = DigestResult(
        outcome=Outcome.SENT,
        subscription_id=delivery.subscription_id,
        recipient=delivery.recipient,
        subject=delivery.subject,
        delivery_id=delivery.pk,
    )
    if reason:
        cancel_delivery(delivery, reason)
        result.outcome = Outcome.CANCELLED
        result.error = reason
        logger.info("digest %s cancelled: %s", delivery.pk, reason)
        return result
    try:
        mailer.open()
        if mailer.send_messages([delivery_message(delivery)]) != 1:
            raise OSError("the mail backend did not accept the message")
    except Exception as error:
        result.error = f"{type(error).__name__}: {error}"
        if delivery.attempts >= MAX_ATTEMPTS:
            result.outcome = Outcome.FAILED
            _claimed(delivery).update(status=DigestDelivery.Status.FAILED, last_error=result.error)
        else:
            result.outcome = Outcome.RETRY
            _claimed(delivery).update(
                status=DigestDelivery.Status.PENDING,
                next_attempt_at=now + FIRST_RETRY_DELAY * 2 ** (delivery.attempts - 1),
                last_error=result.error,
            )
        logger.warning("digest %s not sent (%s): %s", delivery.pk, result.outcome, result.error)
        return result
    # Accepted. (The crash window is here: see the docstring.)
    _claimed(delivery).update(
        status=DigestDelivery.Status.SENT, sent_at=timezone.now(), last_error=""
    )
    logger.info("digest %s sent to subscription %s", delivery.pk, delivery.subscription_id)
    return result


def send_pending_digests(
    now: datetime.datetime, *, using: str | None = None, progress=None
) -> list[DigestResult]:
    """Send every due delivery over one mailer connection, claiming and checking them
    `SEND_BATCH_SIZE` at a time.

    Stops at the first delivery the mail server refuses: that one waits for its retry time,
    the rest of its batch is given back and waits for the next run, rather than hammering a
    server that is down. A batch whose sending outlasts half the lease is given back too,
    so no other sender takes over a delivery this one is still about to send.
    """
    results: list[DigestResult] = []
    mailer = None
    try:
        while deliveries := claim_deliveries(now):
            claimed_at = time.monotonic()
            reasons = undeliverable(deliveries)
            if mailer is None:
                mailer = mailers.default if using is None else mailers[using]
            for index, delivery in enumerate(deliveries):
                if time.monotonic() - claimed_at > SENDING_LEASE.total_seconds() / 2:
                    release(deliveries[index:], now)
                    break
                result = send_checked(delivery, mailer, now, reasons.get(delivery.pk, ""))
                results.append(result)
                if progress is not None:
                    progress(len(results), None)
                if result.outcome in (Outcome.RETRY, Outcome.FAILED):
                    release(deliveries[index + 1 :], now)
                    return results
    finally:
        if mailer is not None:
            try:
                mailer.close()
            except Exception:  # closing a connection the server already dropped
                logger.warning("closing the mailer failed", exc_info=True)
    return results
