"""Sending planned digests: claim one delivery at a time, mark it sent once accepted."""

from __future__ import annotations

import datetime
import logging

from django.core.mail import mailers
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from ..emails import build_message, unsubscribe_headers
from ..models import (
    Clause,
    ClauseVersion,
    DigestDelivery,
    DigestItem,
    Position,
    Statement,
    StatusChange,
    Subscription,
    Topic,
    can_read,
)
from .planning import DigestResult, Outcome

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
FIRST_RETRY_DELAY = datetime.timedelta(minutes=10)  # doubled after each failed attempt
# A delivery in `sending` whose lease has run out was claimed by a sender that died; the
# next sender takes it over. Far longer than one SMTP exchange (timeout 30 s).
SENDING_LEASE = datetime.timedelta(minutes=15)


def claim_next_delivery(now: datetime.datetime) -> DigestDelivery | None:
    """Take one due delivery for this sender: `pending` and due, or `sending` with an
    expired lease (its sender died). Returns it in `sending`, with its attempt counted."""
    due = DigestDelivery.objects.filter(
        Q(status=DigestDelivery.Status.PENDING) | Q(status=DigestDelivery.Status.SENDING),
        next_attempt_at__lte=now,
    ).order_by("next_attempt_at", "pk")
    # Concurrent senders skip each other's rows instead of queueing behind them.
    due = due.select_for_update(skip_locked=True, of=("self",))
    # Each lost race means another sender took a delivery out of `due`, so this ends.
    while True:
        with transaction.atomic():
            delivery = due.select_related("subscription__user").first()
            if delivery is None:
                return None
            # The row lock is the claim; the conditional update checks that the row is
            # still as read (it always is with the lock held).
            claimed = DigestDelivery.objects.filter(
                pk=delivery.pk,
                status=delivery.status,
                attempts=delivery.attempts,
                next_attempt_at=delivery.next_attempt_at,
            ).update(
                status=DigestDelivery.Status.SENDING,
                attempts=delivery.attempts + 1,
                next_attempt_at=now + SENDING_LEASE,
            )
        if claimed == 1:
            delivery.status = DigestDelivery.Status.SENDING
            delivery.attempts += 1
            delivery.next_attempt_at = now + SENDING_LEASE
            return delivery


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
    """Why this planned delivery must not go out now, or "" if it may.

    Its body was rendered when it was planned, for what the recipient could read then.
    Minutes later, or after hours of retries, they may have turned the digest off, lost
    their reader group or their account, or changed address, or an item may have been made
    internal: the stored body would then tell them what they may no longer see. The items
    are checked through the `visible_to` rule that planned them, in one query whatever their
    number (two with the reader check).
    """
    subscription = delivery.subscription
    user = subscription.user
    if subscription.frequency == Subscription.Frequency.OFF:
        return "unsubscribed before it was sent"
    if not can_read(user):
        return "the recipient may no longer read the tracker"
    if user.email != delivery.recipient:
        return "the recipient's address changed"
    visible_change = StatusChange.objects.visible_to(user).filter(pk=OuterRef("change_id"))
    visible_statement = Statement.objects.visible_to(user).filter(pk=OuterRef("statement_id"))
    visible_version = ClauseVersion.objects.visible_to(user).filter(pk=OuterRef("version_id"))
    visible_position = Position.objects.visible_to(user).filter(pk=OuterRef("position_id"))
    visible_clause = Clause.objects.visible_to(user).filter(pk=OuterRef("idle_clause_id"))
    visible_topic = Topic.objects.visible_to(user).filter(pk=OuterRef("idle_topic_id"))
    hidden = DigestItem.objects.filter(delivery=delivery).filter(
        (Q(change__isnull=False) & ~Exists(visible_change))
        | (Q(statement__isnull=False) & ~Exists(visible_statement))
        | (Q(version__isnull=False) & ~Exists(visible_version))
        | (Q(position__isnull=False) & ~Exists(visible_position))
        | (Q(idle_clause__isnull=False) & ~Exists(visible_clause))
        | (Q(idle_topic__isnull=False) & ~Exists(visible_topic))
    )
    if hidden.exists():
        return "an item was hidden from the recipient"
    return ""


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
    """Send one claimed delivery and record the outcome.

    The crash window: if this process dies after the mail server accepted the message and
    before the UPDATE to `sent` commits, the delivery stays in `sending` until its lease
    runs out, and the next sender sends it again, with the same Message-ID (mail clients
    that thread or deduplicate by Message-ID show it once). Nothing is ever lost: at worst
    one message is repeated. Marking it sent *before* sending would instead lose it.
    """
    result = DigestResult(
        outcome=Outcome.SENT,
        subscription_id=delivery.subscription_id,
        recipient=delivery.recipient,
        subject=delivery.subject,
        delivery_id=delivery.pk,
    )
    if reason := why_not_deliverable(delivery):
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
    """Send every due delivery over one mailer connection.

    Stops at the first delivery the mail server refuses: that one waits for its retry time,
    the rest for the next run, rather than hammering a server that is down.
    """
    results: list[DigestResult] = []
    mailer = None
    try:
        while (delivery := claim_next_delivery(now)) is not None:
            if mailer is None:
                mailer = mailers.default if using is None else mailers[using]
            result = send_delivery(delivery, mailer, now)
            results.append(result)
            if progress is not None:
                progress(len(results), None)
            if result.outcome in (Outcome.RETRY, Outcome.FAILED):
                break
    finally:
        if mailer is not None:
            try:
                mailer.close()
            except Exception:  # closing a connection the server already dropped
                logger.warning("closing the mailer failed", exc_info=True)
    return results
