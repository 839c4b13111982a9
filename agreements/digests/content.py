"""What goes into a digest: the followed, visible changes and statements not yet in any
of the subscription's digests, and the dates coming up."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import NamedTuple

from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import events
from ..emails import absolute_url
from ..models import (
    Agreement,
    Clause,
    ClauseVersion,
    DatePrecision,
    DigestItem,
    FundingSource,
    IdleKind,
    Milestone,
    Position,
    Programme,
    Statement,
    StatusChange,
    Subscription,
    Topic,
    approximate_date,
    date_precision_end,
    money,
    money_in_words,
    shown_to,
    turned_idle_on,
)

# Milestones and funding decisions due within this horizon are listed in every digest.
UPCOMING_HORIZON = datetime.timedelta(days=14)
# Funding still open (not secured, not lost) whose decision date has passed is "overdue".
OPEN_FUNDING_STATUSES = (
    FundingSource.Status.POTENTIAL,
    FundingSource.Status.EXPECTED,
    FundingSource.Status.CONTINGENT,
)
# The bottom line names at most this many agreements.
MAX_STANDING_LINES = 10
# A digest lists at most this many changes; the rest are counted and linked to the
# timeline. They are still attached (and so "delivered"): a 5,000-line email helps no one.
MAX_LISTED_CHANGES = 100
MAX_LISTED_STATEMENTS = 30


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

    def versions(self) -> Q:
        return self._rule(clause__agreement_id=self.agreement_ids)

    def positions(self) -> Q:
        return self._rule(clause__agreement_id=self.agreement_ids, topic_id=self.topic_ids)

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

    def clause_records(self) -> Q:
        return self._rule(agreement_id=self.agreement_ids)

    def topic_records(self) -> Q:
        return self._rule(pk=self.topic_ids)


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
        .with_speakers()
        .order_by("said_on", "pk")
    )


def pending_negotiation(
    subscription: Subscription, follows: Follows
) -> tuple[list[ClauseVersion], list[Position]]:
    """Visible, followed clause versions and positions recorded since the subscription
    started that are in none of its digests yet, oldest first, each with what its sentence
    needs of the one before (agreements/events.py)."""
    user = subscription.user
    since = subscription.created_at

    def not_yet_in_a_digest(field: str):
        return ~Exists(
            DigestItem.objects.filter(subscription=subscription, **{field: OuterRef("pk")})
        )

    versions = events.versions_with_previous(
        ClauseVersion.objects.visible_to(user)
        .filter(follows.versions(), recorded_at__gte=since)
        .filter(not_yet_in_a_digest("version"))
        .order_by("proposed_on", "recorded_at", "pk")
    )
    positions = events.positions_with_previous(
        Position.objects.visible_to(user)
        .filter(follows.positions(), recorded_at__gte=since)
        .filter(not_yet_in_a_digest("position"))
        .order_by("taken_on", "recorded_at", "pk"),
        user,
    )
    return list(versions), list(positions)


def pending_idle(
    subscription: Subscription, follows: Follows, today: datetime.date
) -> list[Clause | Topic]:
    """Followed clauses and topics the subscriber may see that turned idle since the
    subscription began and are in none of its digests for this quiet spell (the ledger names
    each by record and `idle_since`): a record turning idle is said once, not in every
    digest while it stays quiet. Nothing is closed. Idle as the subscriber may see it: an
    internal position or statement neither shows nor moves the day it is idle since."""
    user = subscription.user
    started = timezone.localdate(subscription.created_at)
    found: list[Clause | Topic] = []
    for model, followed in ((Clause, follows.clause_records()), (Topic, follows.topic_records())):
        rows = model.objects.visible_to(user).filter(followed).with_idle(today).idle()
        if model is Clause:
            rows = rows.select_related("agreement")
        found.extend(
            row
            for row in rows.order_by("pk")
            if row.is_idle and turned_idle_on(row.idle_kind, row.idle_since) >= started
        )
    if not found:
        return []
    noted = set(
        DigestItem.objects.filter(subscription=subscription, idle_since__isnull=False)
        .filter(
            Q(idle_clause__in=[row.pk for row in found if isinstance(row, Clause)])
            | Q(idle_topic__in=[row.pk for row in found if isinstance(row, Topic)])
        )
        .values_list("idle_clause_id", "idle_topic_id", "idle_since")
    )

    def key(row) -> tuple:
        if isinstance(row, Clause):
            return (row.pk, None, row.idle_since)
        return (None, row.pk, row.idle_since)

    return [row for row in found if key(row) not in noted]


def funding_detail(funding: FundingSource) -> str:
    """ "EUR 50,000,000, potential": a funding decision's amount and status, for the digest
    and the calendar."""
    return _("%(amount)s, %(status)s") % {
        "amount": money(funding.amount, funding.programme.currency),
        "status": funding.get_status_display().lower(),
    }


@dataclass(frozen=True)
class ChangeLine:
    title: str
    url: str
    from_label: str  # empty for a new record: "new · Potential"
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
class IdleLine:
    """A record that turned idle, in plain words, linked to its page."""

    sentence: str
    url: str


def idle_line(record: Clause | Topic) -> IdleLine:
    since = approximate_date(record.idle_since)
    if record.idle_kind == IdleKind.RESERVATION:
        sentence = _("%(record)s: a reservation is still open, with no activity since %(date)s")
    elif record.idle_kind == IdleKind.PENDING_CLAUSE:
        sentence = _("%(record)s: pending signature, with no activity since %(date)s")
    else:
        sentence = _("%(record)s: still under discussion, with no activity since %(date)s")
    return IdleLine(
        sentence=sentence % {"record": record, "date": since},
        url=absolute_url(record.get_absolute_url()),
    )


@dataclass(frozen=True)
class DateLine:
    title: str
    url: str
    when: str
    approximate: bool
    detail: str


@dataclass(frozen=True)
class StandingLine:
    """Where a followed agreement stands now: the digest's bottom line."""

    title: str
    url: str
    signed: int
    clauses: int
    uncovered_counting_secured_only: str  # "" when its programme is not shown
    uncovered_if_all_comes_through: str


def standing_lines(
    subscription: Subscription, follows: Follows, changes: PendingChanges
) -> list[StandingLine]:
    """A line per followed agreement (for a subscription that follows everything: per
    agreement this digest's changes concern), in one query."""
    if follows.everything:
        wanted = {
            change.agreement_id or (change.clause.agreement_id if change.clause else None)
            for change in changes.listed
        } - {None}
    else:
        wanted = set(follows.agreement_ids)
    if not wanted:
        return []
    user = subscription.user
    agreements = (
        Agreement.objects.visible_to(user)
        .filter(pk__in=wanted)
        .with_clause_counts()
        .with_programme_funding()
        .order_by("title")[:MAX_STANDING_LINES]
    )
    lines = []
    for agreement in agreements:
        funding = agreement.programme_funding if shown_to(agreement.programme, user) else None
        currency = funding.currency if funding else ""
        lines.append(
            StandingLine(
                title=agreement.title,
                url=absolute_url(agreement.get_absolute_url()),
                signed=agreement.clauses_signed,
                clauses=agreement.clause_total,
                uncovered_counting_secured_only=(
                    money_in_words(funding.uncovered_counting_secured_only, currency)
                    if funding
                    else ""
                ),
                uncovered_if_all_comes_through=(
                    money_in_words(funding.uncovered_if_all_comes_through, currency)
                    if funding
                    else ""
                ),
            )
        )
    return lines


@dataclass
class DigestContent:
    follows: Follows
    changes: PendingChanges
    statements: list[Statement]
    versions: list[ClauseVersion] = field(default_factory=list)
    positions: list[Position] = field(default_factory=list)
    standing: list[StandingLine] = field(default_factory=list)
    programme_names: dict[int, str] = field(default_factory=dict)  # visible ones only
    upcoming: list[DateLine] = field(default_factory=list)
    overdue: list[DateLine] = field(default_factory=list)
    idle: list = field(default_factory=list)  # clauses and topics that turned idle

    @property
    def is_empty(self) -> bool:
        # Dates alone do not make a digest: an overdue decision would mail everyone daily.
        # A record turning idle does: the ledger says it once per quiet spell.
        return (
            not self.changes.rows
            and not self.statements
            and not self.versions
            and not self.positions
            and not self.idle
        )

    @property
    def item_count(self) -> int:
        return (
            len(self.changes.rows)
            + len(self.statements)
            + len(self.versions)
            + len(self.positions)
            + len(self.idle)
        )


def _subject_title(change: StatusChange) -> str:
    subject = change.subject
    if isinstance(subject, FundingSource):
        # The amount is what a reader of a funding line wants first.
        amount = money(subject.amount, subject.programme.currency)
        return f"{change.get_kind_display()} · {subject} ({amount})"
    if isinstance(subject, Agreement | Topic):
        return f"{change.get_kind_display()} · {subject}"
    return str(subject)  # "Clause 2 · Proton launchers" already names its kind


def _shown(record, user) -> str:
    """A record beside a visible one (a change's source), named if `user` may see it."""
    shown = shown_to(record, user)
    return str(shown) if shown is not None else ""


def change_line(change: StatusChange, user) -> ChangeLine:
    return ChangeLine(
        title=_subject_title(change),
        url=absolute_url(change.subject.get_absolute_url()),
        from_label=change.from_label,
        to_label=change.to_label,
        effective_on=change.effective_on,
        recorded_by=change.author_name,
        source=_shown(change.source, user),
        note=change.note,
    )


def statement_line(statement: Statement, user) -> StatementLine:
    speaker = statement.person.name
    if party := _shown(statement.person.party, user):
        speaker = f"{speaker} ({party})"
    return StatementLine(
        speaker=speaker,
        said_on=statement.said_on,
        about=str(statement.subject or ""),
        summary=statement.summary,
        url=absolute_url(statement.get_absolute_url()),
        source=_shown(statement.source, user),
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
        .with_subjects()
    )
    for milestone in milestones:
        if milestone.happens_by < today:
            continue
        upcoming.append(
            (
                milestone.happens_on,
                DateLine(
                    title=milestone.title,
                    url=absolute_url(milestone.get_absolute_url()),
                    when=approximate_date(milestone.happens_on, milestone.precision),
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
            when=approximate_date(funding.decision_on, funding.decision_precision),
            approximate=funding.decision_precision != DatePrecision.DAY,
            detail=funding_detail(funding),
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
    versions, positions = pending_negotiation(subscription, follows)
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
        versions=versions,
        positions=positions,
        standing=standing_lines(subscription, follows, changes),
        programme_names=programme_names,
        upcoming=upcoming,
        overdue=overdue,
        idle=pending_idle(subscription, follows, today),
    )
