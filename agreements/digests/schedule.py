"""When each digest is due: a local hour (and weekday) in the site's time zone."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

from django.conf import settings

from ..models import (
    Subscription,
)


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def next_due_after(subscription: Subscription, now: datetime.datetime) -> datetime.datetime | None:
    """The first moment strictly after `now` at the subscription's local hour (and weekday).

    Hours are Europe/Paris wall-clock time, so a 07:00 digest stays at 07:00 across daylight
    saving changes. An hour that does not exist that night (02:00 in spring) falls an hour
    later, as zoneinfo resolves it.
    """
    if subscription.frequency == Subscription.Frequency.OFF:
        return None
    zone = local_zone()
    day = now.astimezone(zone).date()
    for offset in range(9):  # one week and a day covers every weekday and a past hour today
        candidate_day = day + datetime.timedelta(days=offset)
        if (
            subscription.frequency == Subscription.Frequency.WEEKLY
            and candidate_day.weekday() != subscription.weekday
        ):
            continue
        candidate = datetime.datetime.combine(
            candidate_day, datetime.time(subscription.hour), tzinfo=zone
        )
        if candidate > now:
            return candidate.astimezone(datetime.UTC)
    raise AssertionError("unreachable: a week always has the weekday")


def reschedule(subscription: Subscription, *, was_active: bool, now: datetime.datetime) -> None:
    """After its owner or an editor changed a subscription: when is it next due?

    Turning a digest on starts it now, like a new subscription: no flood of what happened
    while it was off; and the unsubscribe links of earlier emails expire. Nothing is saved
    here; the caller saves the subscription.
    """
    if subscription.frequency != Subscription.Frequency.OFF and not was_active:
        subscription.created_at = now
        subscription.unsubscribe_generation += 1
    subscription.next_due_at = next_due_after(subscription, now)


def schedule_subscriptions(now: datetime.datetime) -> int:
    """Give a first `next_due_at` to active subscriptions that have none (created by the
    admin, `load_demo` or an import). Conditional, so concurrent runs agree."""
    scheduled = 0
    unscheduled = Subscription.objects.filter(next_due_at__isnull=True).exclude(
        frequency=Subscription.Frequency.OFF
    )
    for subscription in unscheduled:
        scheduled += (
            Subscription.objects.filter(pk=subscription.pk, next_due_at__isnull=True)
            .exclude(frequency=Subscription.Frequency.OFF)
            .update(next_due_at=next_due_after(subscription, now))
        )
    return scheduled
