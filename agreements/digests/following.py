"""The Follow button of agreement and topic pages (GovTrack's Track button): following one
record adds it to its reader's digest.

Anyone who may read the tracker may get a digest (the subscriptions page and the sender ask
`can_read`, not a group), so anyone who may read may follow. The button reads its state
from two columns of the page's own query (`follow_state_columns`), so a page served from
the cache still costs no query for it.

Following writes the same subscription the settings page edits:
- no subscription yet, or digests turned off: a weekly digest (Monday, 07:00 Paris time,
  in the reader's language) about this record only. An earlier choice kept from before the
  digest was turned off is not brought back: the banner says exactly what the digest covers.
- a digest about chosen records: this one is added.
- a digest about everything: nothing to add; the button offers "Only follow this".
Stopping removes the record; a digest left following nothing is turned off (the settings
form refuses a digest about nothing).
"""

from __future__ import annotations

import enum

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import get_language

from ..models import Agreement, Subscription, Topic
from .schedule import reschedule
from .unsubscribe import turn_off


class FollowState(enum.StrEnum):
    NOT_FOLLOWING = "not_following"
    FOLLOWING = "following"
    EVERYTHING = "everything"  # the digest follows everything the reader may see


def _field_for(record: Agreement | Topic) -> str:
    return "agreements" if isinstance(record, Agreement) else "topics"


def follow_state_columns(user_id: int, field: str) -> dict:
    """Columns for an agreement (`field="agreements"`) or topic (`"topics"`) query: whether
    the digest of the user `user_id` is on and follows everything, and whether it follows
    this row."""
    active = Subscription.objects.filter(user=user_id).exclude(frequency=Subscription.Frequency.OFF)
    return {
        "digest_follows_everything": Exists(active.filter(follows_everything=True)),
        "digest_follows_this": Exists(active.filter(**{field: OuterRef("pk")})),
    }


def follow_state(record) -> FollowState:
    """The state of a record that carries `follow_state_columns`."""
    if record.digest_follows_everything:
        return FollowState.EVERYTHING
    if record.digest_follows_this:
        return FollowState.FOLLOWING
    return FollowState.NOT_FOLLOWING


def _language() -> str:
    offered = {code for code, _name in settings.LANGUAGES}
    language = get_language() or ""
    return language if language in offered else settings.LANGUAGE_CODE


def _locked_subscription(user) -> Subscription:
    """The user's subscription, created off if there is none, locked until the end of the
    transaction: two clicks at once (two tabs) add to the same choices."""
    subscription, _created = Subscription.objects.get_or_create(
        user=user,
        defaults={"frequency": Subscription.Frequency.OFF, "language": _language()},
    )
    return Subscription.objects.select_for_update().get(pk=subscription.pk)


def _start_about(subscription: Subscription, record: Agreement | Topic) -> None:
    """Turn the digest on, weekly, about `record` only."""
    subscription.frequency = Subscription.Frequency.WEEKLY
    subscription.follows_everything = False
    reschedule(subscription, was_active=False, now=timezone.now())
    subscription.save()
    subscription.agreements.clear()
    subscription.topics.clear()
    getattr(subscription, _field_for(record)).add(record)


def follow(user, record: Agreement | Topic) -> Subscription:
    """Add `record` to `user`'s digest (see the module's docstring for each case)."""
    with transaction.atomic():
        subscription = _locked_subscription(user)
        if subscription.frequency == Subscription.Frequency.OFF:
            _start_about(subscription, record)
        elif not subscription.follows_everything:
            getattr(subscription, _field_for(record)).add(record)
    return subscription


def follow_only(user, record: Agreement | Topic) -> Subscription:
    """The digest about `record` alone, instead of everything (or anything else)."""
    with transaction.atomic():
        subscription = _locked_subscription(user)
        if subscription.frequency == Subscription.Frequency.OFF:
            _start_about(subscription, record)
        else:
            subscription.follows_everything = False
            subscription.save(update_fields=["follows_everything"])
            subscription.agreements.clear()
            subscription.topics.clear()
            getattr(subscription, _field_for(record)).add(record)
    return subscription


def stop_following(user, record: Agreement | Topic) -> Subscription | None:
    """Take `record` out of `user`'s digest; the digest is turned off if nothing is left.
    A digest about everything is left as it is (its page offers no "Stop following")."""
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().filter(user=user).first()
        if subscription is None or subscription.follows_everything:
            return subscription
        getattr(subscription, _field_for(record)).remove(record)
        follows_something = subscription.agreements.exists() or subscription.topics.exists()
        if subscription.frequency != Subscription.Frequency.OFF and not follows_something:
            turn_off(subscription)
    return subscription
