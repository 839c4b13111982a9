"""Personal feeds: an Atom feed of status changes and an iCalendar feed of milestones and
funding decisions.

Feed readers and calendar apps cannot log in, so these views are reached without a
session: the secret token in the address stands for one user and grants exactly what that
user may read (`visible_to(user)`), nothing more. An unknown token, or the token of a user
who may no longer read, is a 404. Resetting the token on the subscriptions page revokes a
leaked address. The database keeps only a digest of each token (`feed_token_digest`).
"""

from __future__ import annotations

import datetime
import re

import icalendar
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.contrib.syndication.views import Feed
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import format_html, linebreaks
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from . import dependencies, events
from .digests import funding_detail
from .emails import absolute_url, site_host
from .models import (
    DatePrecision,
    FundingSource,
    Milestone,
    StatusChange,
    Subscription,
    approximate_date,
    can_read,
    feed_token_digest,
    shown_to,
)

FEED_LENGTH = 100


# The alphabet of new_feed_token (URL-safe base64). Anything else names no one and is not
# looked up: PostgreSQL refuses a NUL character in a query, which was a 500, not a 404.
FEED_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def feed_user(token: str):
    """The reader this feed token stands for, or 404."""
    if not FEED_TOKEN.fullmatch(token):
        raise Http404
    subscription = (
        Subscription.objects.select_related("user")
        .filter(feed_token_hash=feed_token_digest(token))
        .first()
    )
    if subscription is None or not can_read(subscription.user):
        raise Http404
    return subscription.user


class ChangesFeed(Feed):
    feed_type = Atom1Feed

    def get_object(self, request: HttpRequest, token: str):
        return feed_user(token)

    def title(self, user) -> str:
        return _("Status changes in the negotiation tracker")

    def subtitle(self, user) -> str:
        return _("Every status change, new clause text and position you may see, newest first.")

    def link(self, user) -> str:
        return absolute_url(reverse("agreements:timeline"))

    def items(self, user) -> list[StatusChange | events.Event]:
        changes = list(
            StatusChange.objects.visible_to(user).with_subjects().newest_first()[:FEED_LENGTH]
        )
        for change in changes:
            # A change's source is a record of its own, shown only if the reader may see it.
            change.shown_source = shown_to(change.source, user)
        # The negotiation's versions and positions, in plain words (agreements/events.py).
        merged = changes + events.latest_events(user, FEED_LENGTH)
        merged.sort(key=lambda item: item.recorded_at, reverse=True)
        return merged[:FEED_LENGTH]

    def item_title(self, change: StatusChange | events.Event) -> str:
        if isinstance(change, events.Event):
            return change.sentence
        return _("%(subject)s: %(from)s → %(to)s") % {
            "subject": change.subject,
            "from": change.from_label or "—",
            "to": change.to_label,
        }

    def item_description(self, change: StatusChange | events.Event) -> str:
        # The description is HTML; every value in it is escaped by format_html.
        if isinstance(change, events.Event):
            facts = [change.when, _("recorded by %(name)s") % {"name": change.recorded_by}]
            if change.source:
                facts.append(_("source: %(source)s") % {"source": change.source})
            description = format_html("<p>{}</p>", ", ".join(facts))
            if change.note:
                description += linebreaks(change.note, autoescape=True)
            return description
        facts = [
            _("Effective %(date)s") % {"date": approximate_date(change.effective_on)},
            _("recorded by %(name)s") % {"name": change.author_name},
        ]
        if change.shown_source is not None:
            facts.append(_("source: %(source)s") % {"source": change.shown_source})
        description = format_html("<p>{}</p>", ", ".join(facts))
        if change.note:
            description += linebreaks(change.note, autoescape=True)
        return description

    def item_link(self, change: StatusChange | events.Event) -> str:
        if isinstance(change, events.Event):
            return absolute_url(change.url)
        return absolute_url(change.subject.get_absolute_url())

    def item_guid(self, change: StatusChange | events.Event) -> str:
        # Several changes share a link (their subject's page); the id must be their own.
        if isinstance(change, events.Event):
            return f"tag:{site_host()},2012:{change.guid}"
        return f"tag:{site_host()},2012:status-change/{change.pk}"

    item_guid_is_permalink = False

    def item_pubdate(self, change: StatusChange) -> datetime.datetime:
        return change.recorded_at

    def item_updateddate(self, change: StatusChange) -> datetime.datetime:
        return change.recorded_at

    def item_author_name(self, change: StatusChange | events.Event) -> str:
        if isinstance(change, events.Event):
            return change.recorded_by
        return change.author_name


_changes_feed = ChangesFeed()


@login_not_required
@cache_control(private=True, max_age=300)
@require_GET
def changes_feed(request: HttpRequest, token: str) -> HttpResponse:
    response = _changes_feed(request, token=token)
    response["X-Robots-Tag"] = "noindex"
    return response


def _approximate_note(value: datetime.date, precision: str) -> str:
    return _(
        "Approximate date: %(when)s. The calendar shows it on the first day of that period."
    ) % {"when": approximate_date(value, precision)}


def _event(
    *,
    uid: str,
    summary: str,
    day: datetime.date,
    precision: str,
    description: list[str],
    url: str,
    stamp: datetime.datetime,
) -> icalendar.Event:
    """An all-day event. An approximate date ("February 2013") is put on its first day and
    says so in its summary and description."""
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp.astimezone(datetime.UTC))
    event.add("dtstart", day)
    if day < datetime.date.max:
        # Without DTEND an all-day event lasts its one day (RFC 5545, 3.6.1), which is all a
        # calendar can say of the last day there is; a stored date is not always a sane one.
        event.add("dtend", day + datetime.timedelta(days=1))
    if precision != DatePrecision.DAY:
        summary = _("%(title)s (date approximate)") % {"title": summary}
        description = [_approximate_note(day, precision), *description]
    event.add("summary", summary)
    event.add("description", "\n".join(line for line in description if line))
    event.add("url", url)
    event.add("transp", "TRANSPARENT")  # a date to know, not time taken
    return event


@login_not_required
@cache_control(private=True, max_age=300)
@require_GET
def milestones_calendar(request: HttpRequest, token: str) -> HttpResponse:
    user = feed_user(token)
    host = site_host()
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Negotiation tracker//Milestones//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", _("Negotiation milestones"))
    calendar.add(
        "x-wr-caldesc",
        _("Every milestone and funding decision you can see, whatever your digest follows."),
    )
    calendar.add("x-wr-timezone", settings.TIME_ZONE)

    # What each date holds up (issue 12): the open blockers on a milestone or a funding
    # decision, as the user may see them; one query.
    holds_up: dict[tuple[str, int], list[str]] = {}
    for link in (
        dependencies.links_of(user)
        .open_blockers()
        .filter(Q(to_milestone__isnull=False) | Q(to_funding_source__isnull=False))
    ):
        key = link.other_key
        holds_up.setdefault((key.side, key.pk), []).append(str(link.record))

    def holding_up(side: str, pk: int) -> str:
        blocked = holds_up.get((side, pk))
        return _("Holds up: %(records)s") % {"records": "; ".join(blocked)} if blocked else ""

    milestones = Milestone.objects.visible_to(user).with_subjects()
    for milestone in milestones.order_by("happens_on", "pk"):
        calendar.add_component(
            _event(
                uid=f"milestone-{milestone.pk}@{host}",
                summary=milestone.title,
                day=milestone.happens_on,
                precision=milestone.precision,
                description=[
                    str(milestone.get_kind_display()),
                    str(milestone.subject or ""),
                    holding_up("milestone", milestone.pk),
                    milestone.description,
                ],
                url=absolute_url(milestone.get_absolute_url()),
                stamp=milestone.updated_at,
            )
        )

    decisions = (
        FundingSource.objects.visible_to(user)
        .filter(decision_on__isnull=False)
        .select_related("programme")
        .order_by("decision_on", "pk")
    )
    for funding in decisions:
        calendar.add_component(
            _event(
                uid=f"funding-decision-{funding.pk}@{host}",
                summary=_("Decision on %(funding)s") % {"funding": funding.title},
                day=funding.decision_on,
                precision=funding.decision_precision,
                description=[
                    _("%(programme)s: %(funding)s")
                    % {"programme": funding.programme, "funding": funding_detail(funding)},
                    holding_up("funding_source", funding.pk),
                    funding.condition,
                ],
                url=absolute_url(funding.get_absolute_url()),
                stamp=funding.updated_at,
            )
        )

    response = HttpResponse(calendar.to_ical(), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="milestones.ics"'
    response["X-Robots-Tag"] = "noindex"
    return response
