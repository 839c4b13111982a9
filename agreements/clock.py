"""What "today" is for the record: the one function every rule and page asks.

A negotiation can be replayed as of a past day: `TRACKER_AS_OF` (an ISO date in the
environment, read once by the settings) makes the whole app see that day as today —
upcoming and past milestones, overdue decisions, digests' horizons, idle flags, the
dates an editor may give a status change — and the header says so ("Record as of
26 November 2012"). Unset, today is today in the site's time zone.

Ask `clock.today()`, never `timezone.localdate()` or `date.today()`, wherever "today"
decides what is shown or allowed; the moments things are recorded or sent stay real
(`timezone.now()`).
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone


def as_of() -> datetime.date | None:
    """The day the record is replayed as of, or None when today is today."""
    return getattr(settings, "TRACKER_AS_OF", None)


def today(now: datetime.datetime | None = None) -> datetime.date:
    """The replayed day if there is one, else the local date of `now` (default: now)."""
    return as_of() or timezone.localdate(now)


def context(request: HttpRequest) -> dict:
    """`record_as_of` for the header: the replayed day, or None."""
    return {"record_as_of": as_of()}
