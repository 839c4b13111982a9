"""Email digests for managers: planning them into the ledger, and sending them.

The ledger (DESIGN.md, "Digests: the ledger"):

- A change or a new statement is *in* a digest when a `DigestItem(subscription, change)` or
  `DigestItem(subscription, statement)` row says so; both pairs are unique, so each lands in
  exactly one digest of each subscription. Nothing here uses "id greater than the last one
  sent" or a timestamp watermark: a slow transaction commits an older id or timestamp after
  a watermark has moved past it, and that change would be lost for good. Instead, planning
  attaches every visible, followed record that has no item yet, whenever it committed.
- Planning is one transaction per subscription: claim it with a conditional UPDATE of
  `next_due_at` (healthchecks' optimistic lock; a concurrent planner's UPDATE waits for our
  row lock, then matches nothing), insert the `DigestDelivery` (unique on subscription and
  period start), attach the items, render and store subject and bodies.
- Sending claims one pending delivery at a time (`SELECT ... FOR UPDATE SKIP LOCKED` where
  the database has it, and a conditional UPDATE of the status everywhere), sends it with
  the Message-ID it was planned with, and marks it `sent` only once the mail server has
  accepted it. See `send_delivery` for the one crash window.

Everything is a plain function that the `send_digests` command, the admin, the pages and
the tests call; `now` is always a parameter so that tests and `--now` are deterministic.
"""

from __future__ import annotations

import contextlib
import datetime
import enum
import itertools
import logging
import secrets
from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core import signing
from django.core.mail import mailers
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .emails import RenderedEmail, absolute_url, build_message, render_email, unsubscribe_headers
from .models import (
    Agreement,
    DatePrecision,
    DigestDelivery,
    DigestItem,
    FundingSource,
    Milestone,
    Programme,
    Statement,
    StatusChange,
    Subscription,
    Topic,
    date_precision_end,
)

logger = logging.getLogger(__name__)

# Milestones and funding decisions due within this horizon are listed in every digest.
UPCOMING_HORIZON = datetime.timedelta(days=14)
# Funding still open (not secured, not lost) whose decision date has passed is "overdue".
OPEN_FUNDING_STATUSES = (
    FundingSource.Status.POTENTIAL,
    FundingSource.Status.EXPECTED,
    FundingSource.Status.CONTINGENT,
)
# A digest lists at most this many changes; the rest are counted and linked to the
# timeline. They are still attached (and so "delivered"): a 5,000-line email helps no one.
MAX_LISTED_CHANGES = 100
MAX_LISTED_STATEMENTS = 30
ITEM_BATCH_SIZE = 1000  # ledger rows per INSERT
SUBJECT_MAX_LENGTH = DigestDelivery._meta.get_field("subject").max_length

MAX_ATTEMPTS = 5
FIRST_RETRY_DELAY = datetime.timedelta(minutes=10)  # doubled after each failed attempt
# A delivery in `sending` whose lease has run out was claimed by a sender that died; the
# next sender takes it over. Far longer than one SMTP exchange (timeout 30 s).
SENDING_LEASE = datetime.timedelta(minutes=15)

UNSUBSCRIBE_SALT = "agreements.digests.unsubscribe"
# Long enough for a weekly digest read late (or a retried one); short enough that a link
# in an old forwarded email stops working. An expired link explains how to manage instead.
UNSUBSCRIBE_MAX_AGE = datetime.timedelta(days=60)


class Outcome(enum.StrEnum):
    PLANNED = "planned"  # a delivery was written to the ledger
    EMPTY = "empty"  # nothing new: no delivery, the next period is scheduled
    SKIPPED = "skipped"  # another planner or sender got there first
    SENT = "sent"
    RETRY = "retry"  # the mail server refused; back to pending for a later attempt
    FAILED = "failed"  # gave up after MAX_ATTEMPTS
    CANCELLED = "cancelled"  # unsubscribed between planning and sending


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


# Schedule ---------------------------------------------------------------------------------


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
    while it was off. Nothing is saved here; the caller saves the subscription.
    """
    if subscription.frequency != Subscription.Frequency.OFF and not was_active:
        subscription.created_at = now
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


# Unsubscribe tokens -----------------------------------------------------------------------


class BadUnsubscribeToken(Exception):
    """The token is forged, altered, expired or names no subscription; `str()` says which,
    in words for the reader."""


def unsubscribe_token(subscription: Subscription) -> str:
    """A signed, timestamped token naming the subscription. It grants one thing: turning that
    subscription off, without logging in (RFC 8058 one-click)."""
    return signing.dumps({"subscription": subscription.pk}, salt=UNSUBSCRIBE_SALT)


def unsubscribe_url(subscription: Subscription) -> str:
    return absolute_url(reverse("agreements:unsubscribe", args=[unsubscribe_token(subscription)]))


def subscription_for_unsubscribe_token(token: str) -> Subscription:
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT, max_age=UNSUBSCRIBE_MAX_AGE)
    except signing.SignatureExpired as error:
        raise BadUnsubscribeToken(
            _("This unsubscribe link has expired. Log in to manage your digest instead.")
        ) from error
    except signing.BadSignature as error:
        raise BadUnsubscribeToken(
            _("This unsubscribe link is not valid. It may have been cut or altered.")
        ) from error
    subscription_id = data.get("subscription") if isinstance(data, dict) else None
    subscription = None
    if isinstance(subscription_id, int):
        subscription = Subscription.objects.select_related("user").filter(pk=subscription_id)
        subscription = subscription.first()
    if subscription is None:
        raise BadUnsubscribeToken(_("This unsubscribe link names no subscription any more."))
    return subscription


def turn_off(subscription: Subscription) -> None:
    """Stop the digest. Items already planned are not sent (see `send_delivery`)."""
    subscription.frequency = Subscription.Frequency.OFF
    subscription.next_due_at = None
    subscription.save(update_fields=["frequency", "next_due_at"])
    logger.info("subscription %s turned off", subscription.pk)


# What a subscription follows ------------------------------------------------------------


@dataclass(frozen=True)
class Follows:
    """The agreements and topics a subscription follows, among those its user may see.

    Funding sources follow their programme's agreements: following an agreement follows the
    funding of its programme. Records linked to nothing followed reach only subscriptions
    that follow everything.
    """

    everything: bool
    agreements: tuple[Agreement, ...] = ()
    topics: tuple[Topic, ...] = ()

    @classmethod
    def of(cls, subscription: Subscription) -> Follows:
        if subscription.follows_everything:
            return cls(everything=True)
        user = subscription.user
        return cls(
            everything=False,
            agreements=tuple(Agreement.objects.visible_to(user).filter(subscriptions=subscription)),
            topics=tuple(Topic.objects.visible_to(user).filter(subscriptions=subscription)),
        )

    @property
    def agreement_ids(self) -> list[int]:
        return [agreement.pk for agreement in self.agreements]

    @property
    def topic_ids(self) -> list[int]:
        return [topic.pk for topic in self.topics]

    @property
    def programme_ids(self) -> list[int]:
        return sorted({a.programme_id for a in self.agreements if a.programme_id is not None})

    def _rule(self, **lookups: list[int]) -> Q:
        if self.everything:
            return Q()
        rule = Q(pk__in=[])
        for lookup, ids in lookups.items():
            if ids:
                rule |= Q(**{f"{lookup}__in": ids})
        return rule

    def changes(self) -> Q:
        return self._rule(
            agreement_id=self.agreement_ids,
            clause__agreement_id=self.agreement_ids,
            topic_id=self.topic_ids,
            funding_source__programme_id=self.programme_ids,
        )

    def statements(self) -> Q:
        return self._rule(agreement_id=self.agreement_ids, topic_id=self.topic_ids)

    def milestones(self) -> Q:
        return self._rule(
            agreement_id=self.agreement_ids,
            topic_id=self.topic_ids,
            programme_id=self.programme_ids,
        )

    def funding(self) -> Q:
        return self._rule(programme_id=self.programme_ids)


def may_see(user, record) -> bool:
    """For a record shown beside a visible one (a change's source, a speaker's party): the
    same rule as `visible_to` for a record with no parent, applied to an object in hand."""
    return record is not None and (user.is_staff or not record.is_internal)


# Collecting a digest's content -----------------------------------------------------------


class ChangeRow(NamedTuple):
    """What a digest needs of every pending change: its ledger id and what the subject
    line counts. Full objects are loaded only for the changes the email lists."""

    pk: int
    kind: str
    from_status: str
    to_status: str
    programme_id: int | None


@dataclass
class PendingChanges:
    rows: list[ChangeRow]
    listed: list[StatusChange]  # the first MAX_LISTED_CHANGES, with their subjects


def pending_changes(subscription: Subscription, follows: Follows) -> PendingChanges:
    """Visible, followed changes recorded since the subscription started that are in none of
    its digests yet, oldest first. This is the planner's one look at the history: whatever
    commits after it has no item yet and goes into the next digest."""
    already_in_a_digest = DigestItem.objects.filter(
        subscription=subscription, change=OuterRef("pk")
    )
    pending = (
        StatusChange.objects.visible_to(subscription.user)
        .filter(follows.changes(), recorded_at__gte=subscription.created_at)
        .filter(~Exists(already_in_a_digest))
        .order_by("effective_on", "recorded_at", "pk")
    )
    rows = [
        ChangeRow(*row)
        for row in pending.values_list(
            "pk",
            "kind",
            "from_status",
            "to_status",
            Coalesce(
                "agreement__programme_id",
                "clause__agreement__programme_id",
                "funding_source__programme_id",
            ),
        )
    ]
    listed_ids = [row.pk for row in rows[:MAX_LISTED_CHANGES]]
    listed = (
        StatusChange.objects.filter(pk__in=listed_ids)
        .with_subjects()
        .order_by("effective_on", "recorded_at", "pk")
    )
    return PendingChanges(rows=rows, listed=list(listed) if listed_ids else [])


def pending_statements(subscription: Subscription, follows: Follows) -> list[Statement]:
    already_in_a_digest = DigestItem.objects.filter(
        subscription=subscription, statement=OuterRef("pk")
    )
    return list(
        Statement.objects.visible_to(subscription.user)
        .filter(follows.statements(), created_at__gte=subscription.created_at)
        .filter(~Exists(already_in_a_digest))
        .select_related("person__party", "agreement", "topic", "source")
        .order_by("said_on", "pk")
    )


def format_approximate(value: datetime.date, precision: str) -> str:
    """A date as precisely as it is known: "19 Nov 2012", "February 2013", "2016"."""
    if precision == DatePrecision.YEAR:
        return formats.date_format(value, "Y")
    if precision == DatePrecision.MONTH:
        return formats.date_format(value, "YEAR_MONTH_FORMAT")
    return formats.date_format(value, "j M Y")


@dataclass(frozen=True)
class ChangeLine:
    title: str
    url: str
    from_label: str
    to_label: str
    effective_on: datetime.date
    recorded_by: str
    source: str
    note: str


@dataclass(frozen=True)
class StatementLine:
    speaker: str
    said_on: datetime.date
    about: str
    summary: str
    url: str
    source: str


@dataclass(frozen=True)
class DateLine:
    title: str
    url: str
    when: str
    approximate: bool
    detail: str


@dataclass
class DigestContent:
    follows: Follows
    changes: PendingChanges
    statements: list[Statement]
    programme_names: dict[int, str] = field(default_factory=dict)  # visible ones only
    upcoming: list[DateLine] = field(default_factory=list)
    overdue: list[DateLine] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        # Dates alone do not make a digest: an overdue decision would mail everyone daily.
        return not self.changes.rows and not self.statements

    @property
    def item_count(self) -> int:
        return len(self.changes.rows) + len(self.statements)


def _subject_title(change: StatusChange) -> str:
    subject = change.subject
    if isinstance(subject, Agreement | Topic | FundingSource):
        return f"{change.get_kind_display()} · {subject}"
    return str(subject)  # "Clause 2 · Proton launchers" already names its kind


def change_line(change: StatusChange, user) -> ChangeLine:
    recorded_by = change.recorded_by
    return ChangeLine(
        title=_subject_title(change),
        url=absolute_url(change.subject.get_absolute_url()),
        from_label=change.from_label,
        to_label=change.to_label,
        effective_on=change.effective_on,
        recorded_by=recorded_by.get_full_name() or recorded_by.get_username(),
        source=str(change.source) if may_see(user, change.source) else "",
        note=change.note,
    )


def statement_line(statement: Statement, user) -> StatementLine:
    about = statement.agreement or statement.topic
    speaker = statement.person.name
    if may_see(user, statement.person.party):
        speaker = f"{speaker} ({statement.person.party})"
    url = about.get_absolute_url() if about is not None else reverse("agreements:dashboard")
    return StatementLine(
        speaker=speaker,
        said_on=statement.said_on,
        about=str(about) if about is not None else "",
        summary=statement.summary,
        url=absolute_url(url),
        source=str(statement.source) if may_see(user, statement.source) else "",
    )


def upcoming_and_overdue(
    subscription: Subscription, follows: Follows, today: datetime.date
) -> tuple[list[DateLine], list[DateLine]]:
    """Milestones and funding decisions due in the next 14 days (an approximate date counts
    while any day it may stand for is ahead), and overdue decisions: funding still open
    whose decision date has passed."""
    user = subscription.user
    horizon = today + UPCOMING_HORIZON
    # A year-precise date stands for up to 365 days after its stored first day.
    earliest_start = today - datetime.timedelta(days=366)
    upcoming: list[tuple[datetime.date, DateLine]] = []
    milestones = (
        Milestone.objects.visible_to(user)
        .filter(follows.milestones(), happens_on__lte=horizon, happens_on__gte=earliest_start)
        .select_related("agreement", "topic", "programme")
    )
    for milestone in milestones:
        if milestone.happens_by < today:
            continue
        about = milestone.agreement or milestone.topic or milestone.programme
        url = about.get_absolute_url() if about is not None else reverse("agreements:timeline")
        upcoming.append(
            (
                milestone.happens_on,
                DateLine(
                    title=milestone.title,
                    url=absolute_url(url),
                    when=format_approximate(milestone.happens_on, milestone.precision),
                    approximate=milestone.precision != DatePrecision.DAY,
                    detail=str(milestone.get_kind_display()),
                ),
            )
        )
    overdue: list[tuple[datetime.date, DateLine]] = []
    decisions = (
        FundingSource.objects.visible_to(user)
        .filter(follows.funding(), status__in=OPEN_FUNDING_STATUSES, decision_on__lte=horizon)
        .select_related("programme")
    )
    for funding in decisions:
        decided_by = date_precision_end(funding.decision_on, funding.decision_precision)
        line = DateLine(
            title=_("Decision on %(funding)s") % {"funding": funding.title},
            url=absolute_url(funding.get_absolute_url()),
            when=format_approximate(funding.decision_on, funding.decision_precision),
            approximate=funding.decision_precision != DatePrecision.DAY,
            detail=_("%(currency)s %(amount)s, %(status)s")
            % {
                "currency": funding.programme.currency,
                "amount": f"{funding.amount:,.0f}",
                "status": funding.get_status_display().lower(),
            },
        )
        if decided_by < today:
            overdue.append((funding.decision_on, line))
        elif funding.decision_on >= earliest_start:
            upcoming.append((funding.decision_on, line))
    upcoming.sort(key=lambda pair: (pair[0], pair[1].title))
    overdue.sort(key=lambda pair: (pair[0], pair[1].title))
    return [line for _, line in upcoming], [line for _, line in overdue]


def collect(subscription: Subscription, today: datetime.date) -> DigestContent:
    """Everything a digest of this subscription would hold now. Reads only."""
    follows = Follows.of(subscription)
    changes = pending_changes(subscription, follows)
    statements = pending_statements(subscription, follows)
    programme_ids = {row.programme_id for row in changes.rows} | {
        statement.agreement.programme_id for statement in statements if statement.agreement
    }
    programme_ids.discard(None)
    programme_names = {}
    if programme_ids:
        programme_names = dict(
            Programme.objects.visible_to(subscription.user)
            .filter(pk__in=programme_ids)
            .values_list("pk", "name")
        )
    upcoming, overdue = upcoming_and_overdue(subscription, follows, today)
    return DigestContent(
        follows=follows,
        changes=changes,
        statements=statements,
        programme_names=programme_names,
        upcoming=upcoming,
        overdue=overdue,
    )


# Wording ------------------------------------------------------------------------------------


def _change_summary_phrase(change: ChangeRow, count: int) -> str:
    """One part of the subject: "3 clauses signed", "1 topic changed"."""
    kind, to = change.kind, change.to_status
    if not change.from_status:
        phrases = {
            StatusChange.Kind.AGREEMENT: ngettext(
                "%(count)d new agreement", "%(count)d new agreements", count
            ),
            StatusChange.Kind.CLAUSE: ngettext(
                "%(count)d new clause", "%(count)d new clauses", count
            ),
            StatusChange.Kind.TOPIC: ngettext("%(count)d new topic", "%(count)d new topics", count),
            StatusChange.Kind.FUNDING_SOURCE: ngettext(
                "%(count)d new funding source", "%(count)d new funding sources", count
            ),
        }
        return phrases[kind] % {"count": count}
    if kind == StatusChange.Kind.CLAUSE:
        phrase = {
            "draft": ngettext(
                "%(count)d clause back in draft", "%(count)d clauses back in draft", count
            ),
            "pending": ngettext(
                "%(count)d clause pending signature", "%(count)d clauses pending signature", count
            ),
            "signed": ngettext("%(count)d clause signed", "%(count)d clauses signed", count),
            "withdrawn": ngettext(
                "%(count)d clause withdrawn", "%(count)d clauses withdrawn", count
            ),
        }.get(to)
    elif kind == StatusChange.Kind.AGREEMENT:
        phrase = {
            "draft": ngettext(
                "%(count)d agreement back in draft", "%(count)d agreements back in draft", count
            ),
            "approved": ngettext(
                "%(count)d draft agreement approved", "%(count)d draft agreements approved", count
            ),
            "signed": ngettext("%(count)d agreement signed", "%(count)d agreements signed", count),
            "abandoned": ngettext(
                "%(count)d agreement abandoned", "%(count)d agreements abandoned", count
            ),
        }.get(to)
    elif kind == StatusChange.Kind.TOPIC:
        phrase = ngettext("%(count)d topic changed", "%(count)d topics changed", count)
    else:
        phrase = ngettext("%(count)d funding change", "%(count)d funding changes", count)
    if phrase is None:  # a status added later that has no phrase yet
        phrase = ngettext("%(count)d change", "%(count)d changes", count)
    return phrase % {"count": count}


def summarize(content: DigestContent, limit: int = 3) -> str:
    """The subject's middle: the largest groups first, the rest counted."""
    groups: Counter[tuple[str, str, bool]] = Counter()
    example: dict[tuple[str, str, bool], ChangeRow] = {}
    for change in content.changes.rows:
        key = (change.kind, change.to_status, not change.from_status)
        groups[key] += 1
        example.setdefault(key, change)
    parts = [(count, _change_summary_phrase(example[key], count)) for key, count in groups.items()]
    if count := len(content.statements):
        phrase = ngettext("%(count)d new statement", "%(count)d new statements", count)
        parts.append((count, phrase % {"count": count}))
    parts.sort(key=lambda part: -part[0])  # stable: equal counts keep kind order
    shown = ", ".join(phrase for _, phrase in parts[:limit])
    rest = sum(count for count, _ in parts[limit:])
    if rest:
        return ngettext("%(shown)s and %(count)d more", "%(shown)s and %(count)d more", rest) % {
            "shown": shown,
            "count": rest,
        }
    return shown


def digest_name(content: DigestContent) -> str:
    """What the digest is about, for its subject: the programme(s) involved, else the one
    agreement or topic, else the tracker's name. Only names the user may see."""
    programmes: Counter[str] = Counter()
    for row in content.changes.rows:
        if row.programme_id in content.programme_names:
            programmes[content.programme_names[row.programme_id]] += 1
    for statement in content.statements:
        programme_id = statement.agreement.programme_id if statement.agreement else None
        if programme_id in content.programme_names:
            programmes[content.programme_names[programme_id]] += 1
    if len(programmes) > 2:
        names = ", ".join(name for name, _ in programmes.most_common(2))
        return _("%(names)s and more") % {"names": names}
    if programmes:
        return " & ".join(name for name, _ in programmes.most_common())
    subjects = {
        change.agreement
        or (change.clause.agreement if change.clause else None)
        or change.topic
        or change.funding_source
        for change in content.changes.listed
    } | {statement.agreement or statement.topic for statement in content.statements}
    everything_listed = len(content.changes.listed) == len(content.changes.rows)
    if len(subjects) == 1 and None not in subjects and everything_listed:
        return str(subjects.pop())
    return _("Negotiation tracker")


def render_digest(
    subscription: Subscription,
    content: DigestContent,
    *,
    period_start: datetime.datetime,
    period_end: datetime.datetime,
    unsubscribe: str,
) -> RenderedEmail:
    user = subscription.user
    listed = content.changes.listed
    sections: dict[str, list[ChangeLine]] = {
        _("Agreements and clauses"): [],
        _("Topics"): [],
        _("Funding"): [],
    }
    section_of = {
        StatusChange.Kind.AGREEMENT: _("Agreements and clauses"),
        StatusChange.Kind.CLAUSE: _("Agreements and clauses"),
        StatusChange.Kind.TOPIC: _("Topics"),
        StatusChange.Kind.FUNDING_SOURCE: _("Funding"),
    }
    for change in listed:
        sections[section_of[change.kind]].append(change_line(change, user))
    follows = content.follows
    context = {
        "user": user,
        "frequency": subscription.frequency,
        "name": digest_name(content),
        "summary": summarize(content),
        "period_start": period_start,
        "period_end": period_end,
        "sections": [(title, lines) for title, lines in sections.items() if lines],
        "more_changes": len(content.changes.rows) - len(listed),
        "statements": [
            statement_line(statement, user)
            for statement in content.statements[:MAX_LISTED_STATEMENTS]
        ],
        "more_statements": max(len(content.statements) - MAX_LISTED_STATEMENTS, 0),
        "upcoming": content.upcoming,
        "overdue": content.overdue,
        "follows_everything": follows.everything,
        "followed": [str(record) for record in (*follows.agreements, *follows.topics)],
        "site_url": settings.SITE_URL,
        "timeline_url": absolute_url(reverse("agreements:timeline")),
        "manage_url": absolute_url(reverse("agreements:subscriptions")),
        "unsubscribe_url": unsubscribe,
    }
    return render_email("digest", context)


@contextlib.contextmanager
def email_locale():
    """Digests are worded in the site's language and dated in its time zone, whatever the
    process that plans them (a command, an admin request in another language)."""
    with translation.override(settings.LANGUAGE_CODE), timezone.override(local_zone()):
        yield


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
    with email_locale():
        content = collect(subscription, now.astimezone(local_zone()).date())
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
    domain = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"<digest.{subscription.pk}.{secrets.token_hex(8)}@{domain}>"


def plan_digest(subscription: Subscription, now: datetime.datetime) -> DigestResult:
    """Plan this subscription's digest for the period ending `now`, in one transaction.

    `subscription.next_due_at` is the value this planner saw; the claim (a conditional
    UPDATE) succeeds only if nobody moved it since. Its row lock is held to the end of the
    transaction: a concurrent planner skips the locked row (PostgreSQL) or waits for it,
    then finds `next_due_at` moved; either way it plans nothing for this period.
    """
    result = DigestResult(
        outcome=Outcome.SKIPPED,
        subscription_id=subscription.pk,
        recipient=subscription.user.email,
    )
    with transaction.atomic(), email_locale():
        claim = Subscription.objects.filter(
            pk=subscription.pk, next_due_at=subscription.next_due_at
        ).exclude(frequency=Subscription.Frequency.OFF)
        if connection.features.has_select_for_update_skip_locked and not list(
            claim.select_for_update(skip_locked=True).values_list("pk", flat=True)
        ):
            # Another planner holds it (or it moved on): go on to the next subscription
            # rather than queue behind that planner's transaction.
            return result
        if claim.update(next_due_at=next_due_after(subscription, now)) != 1:
            return result
        result.outcome = Outcome.EMPTY
        if not subscription.user.email:
            result.error = _("no email address")
            return result
        content = collect(subscription, now.astimezone(local_zone()).date())
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


# Sending ------------------------------------------------------------------------------------


def claim_next_delivery(now: datetime.datetime) -> DigestDelivery | None:
    """Take one due delivery for this sender: `pending` and due, or `sending` with an
    expired lease (its sender died). Returns it in `sending`, with its attempt counted."""
    due = DigestDelivery.objects.filter(
        Q(status=DigestDelivery.Status.PENDING) | Q(status=DigestDelivery.Status.SENDING),
        next_attempt_at__lte=now,
    ).order_by("next_attempt_at", "pk")
    if connection.features.has_select_for_update_skip_locked:
        # Concurrent senders skip each other's rows instead of queueing behind them.
        due = due.select_for_update(skip_locked=True, of=("self",))
    # Each lost race means another sender took a delivery out of `due`, so this ends.
    while True:
        with transaction.atomic():
            delivery = due.select_related("subscription").first()
            if delivery is None:
                return None
            # The conditional update is the claim where there is no row lock (SQLite); with
            # the lock held it always matches.
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
    if delivery.subscription.frequency == Subscription.Frequency.OFF:
        _claimed(delivery).update(
            status=DigestDelivery.Status.FAILED, last_error="unsubscribed before it was sent"
        )
        result.outcome = Outcome.CANCELLED
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
