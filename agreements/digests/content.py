"""What goes into a digest: the followed, visible changes and statements not yet in any
of the subscription's digests, and the dates coming up, for a batch of subscriptions at once.

The planner reads for a whole batch (`DigestBatch`) rather than one subscription at a time:
each *source* below is one set-based function over the batch, returning what it found per
subscription (`{subscription id: [records]}`), in at most one query per audience (staff,
readers: `agreements.models.audience`), whatever the batch's size. A source:

- starts from `Model.objects.visible_to(reader)` for each of `batch.audiences()` (every
  user of an audience sees the same records, so one reader stands for all of them);
- filters by what any subscription of that audience follows (`batch.union_of(...)` and a
  `FOLLOW_RULES` entry), and hands each record to the subscriptions that follow it
  (`batch.followers_of(...)`), a Python lookup rather than a query per subscription;
- for what enters the ledger, keeps a record for a subscription only if it was recorded
  since the subscription started and no `DigestItem` of that subscription holds it yet
  (`delivered_to`: one correlated array per record, no watermark).

To add a kind of line (say, blockers or idle agreements): write one such function, add its
field to `DigestContent`, and call it in `collect_batch`; if it enters the ledger, also give
`DigestItem` its column and `planning.ledger_items` its line. Sources return records; words
(dates, amounts, "Decision on …") are made in `collect_batch` under each subscriber's
language.
"""

from __future__ import annotations

import datetime
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import partial
from typing import NamedTuple, TypeVar

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import F, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .. import events
from ..emails import absolute_url
from ..models import (
    Agreement,
    Clause,
    ClauseVersion,
    DatePrecision,
    DigestDelivery,
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
    audience,
    date_precision_end,
    money,
    money_in_words,
    remember_readers,
    shown_to,
    turned_idle_on,
)

T = TypeVar("T")

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


AGREEMENTS, TOPICS, PROGRAMMES = "agreements", "topics", "programmes"

# What "follows" means for each kind of record: which of its columns name a followed
# agreement, topic or programme. One table for both the SQL filter (`Follows.rule`) and the
# Python match (`Followers.of`), so they cannot disagree. Funding sources follow their
# programme's agreements: following an agreement follows the funding of its programme.
FOLLOW_RULES: dict[str, dict[str, str]] = {
    "changes": {
        "agreement_id": AGREEMENTS,
        "clause__agreement_id": AGREEMENTS,
        "topic_id": TOPICS,
        "funding_source__programme_id": PROGRAMMES,
    },
    "versions": {"clause__agreement_id": AGREEMENTS},
    "positions": {"clause__agreement_id": AGREEMENTS, "topic_id": TOPICS},
    "statements": {"agreement_id": AGREEMENTS, "topic_id": TOPICS},
    "milestones": {"agreement_id": AGREEMENTS, "topic_id": TOPICS, "programme_id": PROGRAMMES},
    "funding": {"programme_id": PROGRAMMES},
    # A record gone quiet reaches the followers of its agreement, or of the topic itself.
    "idle_clauses": {"agreement_id": AGREEMENTS},
    "idle_topics": {"id": TOPICS},
    # A link reaches the followers of the record it holds up (digests/links.py).
    "links": {
        "agreement_id": AGREEMENTS,
        "clause__agreement_id": AGREEMENTS,
        "topic_id": TOPICS,
        "funding_source__programme_id": PROGRAMMES,
        "milestone__agreement_id": AGREEMENTS,
        "milestone__topic_id": TOPICS,
        "milestone__programme_id": PROGRAMMES,
    },
}


@dataclass(frozen=True)
class Follows:
    """The agreements and topics a subscription follows, among those its user may see.

    Records linked to nothing followed reach only subscriptions that follow everything.
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

    @classmethod
    def union(cls, many: Iterable[Follows]) -> Follows:
        """What any of them follows: the filter of one query that serves them all."""
        many = list(many)
        if any(follows.everything for follows in many):
            return cls(everything=True)
        agreements = {a.pk: a for follows in many for a in follows.agreements}
        topics = {t.pk: t for follows in many for t in follows.topics}
        return cls(
            everything=False, agreements=tuple(agreements.values()), topics=tuple(topics.values())
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

    def ids(self, what: str) -> list[int]:
        return {
            AGREEMENTS: self.agreement_ids,
            TOPICS: self.topic_ids,
            PROGRAMMES: self.programme_ids,
        }[what]

    def rule(self, kind: str) -> Q:
        """The records of this kind that these follows take in, as a filter."""
        if self.everything:
            return Q()
        rule = Q(pk__in=[])
        for lookup, what in FOLLOW_RULES[kind].items():
            if ids := self.ids(what):
                rule |= Q(**{f"{lookup}__in": ids})
        return rule

    def changes(self) -> Q:
        return self.rule("changes")

    def versions(self) -> Q:
        return self.rule("versions")

    def positions(self) -> Q:
        return self.rule("positions")

    def statements(self) -> Q:
        return self.rule("statements")

    def milestones(self) -> Q:
        return self.rule("milestones")

    def funding(self) -> Q:
        return self.rule("funding")


class Followers:
    """Which subscriptions of an audience follow a record: the Python side of `Follows.rule`,
    an index from followed agreement, topic and programme to subscriptions."""

    def __init__(self, subscriptions: list[Subscription], follows: dict[int, Follows]) -> None:
        self.everything: set[int] = set()
        self.by_id: dict[tuple[str, int], set[int]] = defaultdict(set)
        for subscription in subscriptions:
            mine = follows[subscription.pk]
            if mine.everything:
                self.everything.add(subscription.pk)
                continue
            for what in (AGREEMENTS, TOPICS, PROGRAMMES):
                for pk in mine.ids(what):
                    self.by_id[what, pk].add(subscription.pk)

    def of(self, kind: str, values: Iterable[int | None]) -> set[int]:
        """`values`: the record's columns named in FOLLOW_RULES[kind], in that order."""
        found = set(self.everything)
        for (_lookup, what), pk in zip(FOLLOW_RULES[kind].items(), values, strict=True):
            if pk is not None:
                found |= self.by_id.get((what, pk), set())
        return found


def follow_columns(kind: str) -> dict[str, F]:
    """The columns `Followers.of` needs, as annotations named `follow_0`, `follow_1`, …"""
    return {f"follow_{n}": F(lookup) for n, lookup in enumerate(FOLLOW_RULES[kind])}


def follow_values(record, kind: str) -> list[int | None]:
    return [getattr(record, f"follow_{n}") for n in range(len(FOLLOW_RULES[kind]))]


def delivered_to(subscription_ids: list[int], item_field: str) -> ArraySubquery:
    """For each record: which of these subscriptions already have it in a digest. The ledger
    is read afresh for every record, so one committed late is never skipped."""
    return delivered_to_as(subscription_ids, item_field)


def delivered_to_as(subscription_ids: list[int], item_field: str, **also) -> ArraySubquery:
    """`delivered_to`, for the items that also match `also` (a link's `link_event`)."""
    return ArraySubquery(
        DigestItem.objects.filter(
            subscription_id__in=subscription_ids, **{item_field: OuterRef("pk")}, **also
        ).values("subscription_id")
    )


class PlanningRun:
    """What the batches of one planning run share: the clauses and topics idle as each
    audience may see them, worked out once a minute (`IDLE_MAX_AGE`) rather than once per
    batch.

    Their query names every activity source under the visibility rule, and PostgreSQL takes
    0.1 to 1 s to *plan* it, whatever the batch's size (it runs in milliseconds): once per
    batch of 200, that was most of the planning time. Read for the whole audience rather
    than for what a batch follows, the same rows serve every batch of the run; each batch
    still picks its followers in Python and reads the ledger afresh, so exactly-once holds.
    What a minute-old read can get wrong is as for any read before the batch commits: a
    record with activity since then is said to have turned idle (the ledger still names its
    quiet spell once), and one made internal since then is caught by the check before
    sending (`sending.undeliverable`).
    """

    IDLE_MAX_AGE = 60.0  # seconds

    def __init__(self) -> None:
        self._idle: dict[tuple, tuple[float, list]] = {}

    def idle_records(self, reader, model, today: datetime.date, read: Callable[[], list]) -> list:
        """`read()`, or what it returned for this audience less than a minute ago."""
        key = (audience(reader), model, today)
        read_at, rows = self._idle.get(key, (None, []))
        if read_at is None or time.monotonic() - read_at > self.IDLE_MAX_AGE:
            read_at, rows = time.monotonic(), read()
            self._idle[key] = (read_at, rows)
        return rows


@dataclass
class DigestBatch:
    """The subscriptions planned together, and what each follows among what it may see."""

    subscriptions: list[Subscription]
    today: datetime.date
    follows: dict[int, Follows] = field(default_factory=dict)
    run: PlanningRun | None = None  # shared with the run's other batches, if any
    _followers: dict[tuple, Followers] = field(default_factory=dict, repr=False)

    def audiences(self) -> Iterator[tuple[object, list[Subscription]]]:
        """(a reader who stands for them, the subscriptions) per audience that may read."""
        remember_readers([subscription.user for subscription in self.subscriptions])
        groups: dict[str, list[Subscription]] = defaultdict(list)
        for subscription in self.subscriptions:
            if (key := audience(subscription.user)) is not None:
                groups[key].append(subscription)
        for members in groups.values():
            yield members[0].user, members

    def union_of(self, subscriptions: list[Subscription]) -> Follows:
        return Follows.union(self.follows[subscription.pk] for subscription in subscriptions)

    def followers_of(self, subscriptions: list[Subscription]) -> Followers:
        # Every source asks for each audience's index: built once per batch.
        key = tuple(subscription.pk for subscription in subscriptions)
        if key not in self._followers:
            self._followers[key] = Followers(subscriptions, self.follows)
        return self._followers[key]


def followed_records(batch: DigestBatch) -> dict[int, Follows]:
    """Source: what each subscription follows, among the agreements and topics its user may
    see (two queries per audience, none if all follow everything)."""
    follows = {
        subscription.pk: Follows(everything=True)
        for subscription in batch.subscriptions
        if subscription.follows_everything
    }
    chosen: dict[int, dict[str, list]] = {
        subscription.pk: {AGREEMENTS: [], TOPICS: []}
        for subscription in batch.subscriptions
        if not subscription.follows_everything
    }
    for reader, members in batch.audiences():
        ids = [subscription.pk for subscription in members if subscription.pk in chosen]
        if not ids:
            continue
        for what, model in ((AGREEMENTS, Agreement), (TOPICS, Topic)):
            records = (
                model.objects.visible_to(reader)
                .filter(subscriptions__in=ids)
                .annotate(follower_id=F("subscriptions"))
            )
            for record in records:
                chosen[record.follower_id][what].append(record)
    for pk, records in chosen.items():
        follows[pk] = Follows(
            everything=False, agreements=tuple(records[AGREEMENTS]), topics=tuple(records[TOPICS])
        )
    return follows


def pending_for(
    batch: DigestBatch,
    kind: str,
    queryset_for,
    *,
    item_field: str,
    recorded: str = "recorded_at",
) -> dict[int, list]:
    """The shape of every ledger source: per audience, one query for the visible records
    of this kind that any member follows, recorded since the oldest member started, each
    with the members that already have it; then each record goes to the members that follow
    it, started before it was recorded and do not have it yet. Query order is kept.

    `queryset_for(reader)` is the visible, ordered queryset for that audience.
    """
    found: dict[int, list] = defaultdict(list)
    for reader, members in batch.audiences():
        ids = [subscription.pk for subscription in members]
        started = {subscription.pk: subscription.created_at for subscription in members}
        followers = batch.followers_of(members)
        records = (
            queryset_for(reader)
            .filter(batch.union_of(members).rule(kind))
            .filter(**{f"{recorded}__gte": min(started.values())})
            .annotate(digest_delivered_to=delivered_to(ids, item_field), **follow_columns(kind))
        )
        for record in records:
            when = getattr(record, recorded)
            already = set(record.digest_delivered_to)
            for pk in followers.of(kind, follow_values(record, kind)):
                if pk not in already and started[pk] <= when:
                    found[pk].append(record)
    return found


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


def pending_changes(batch: DigestBatch) -> dict[int, PendingChanges]:
    """Source: visible, followed changes recorded since each subscription started that are
    in none of its digests yet, oldest first (one query per audience, and one for the
    changes the emails list). This is the planner's one look at the history: whatever
    commits after it has no item yet and goes into the next digest."""
    found = pending_for(
        batch,
        "changes",
        lambda reader: (
            StatusChange.objects.visible_to(reader)
            # Only what the subject line counts: a digest may hold thousands of changes.
            .only("kind", "from_status", "to_status", "recorded_at")
            .annotate(
                digest_programme_id=Coalesce(
                    "agreement__programme_id",
                    "clause__agreement__programme_id",
                    "funding_source__programme_id",
                )
            )
            .order_by("effective_on", "recorded_at", "pk")
        ),
        item_field="change",
    )
    rows = {
        pk: [
            ChangeRow(c.pk, c.kind, c.from_status, c.to_status, c.digest_programme_id)
            for c in changes
        ]
        for pk, changes in found.items()
    }
    listed_ids = {row.pk for mine in rows.values() for row in mine[:MAX_LISTED_CHANGES]}
    listed = (
        StatusChange.objects.filter(pk__in=listed_ids).with_subjects().in_bulk()
        if listed_ids
        else {}
    )
    return {
        subscription.pk: PendingChanges(
            rows=rows.get(subscription.pk, []),
            listed=[listed[row.pk] for row in rows.get(subscription.pk, [])[:MAX_LISTED_CHANGES]],
        )
        for subscription in batch.subscriptions
    }


def pending_statements(batch: DigestBatch) -> dict[int, list[Statement]]:
    """Source: new statements, as `pending_changes` (one query per audience)."""
    return pending_for(
        batch,
        "statements",
        lambda reader: (
            Statement.objects.visible_to(reader).with_speakers().order_by("said_on", "pk")
        ),
        item_field="statement",
        recorded="created_at",
    )


def pending_versions(batch: DigestBatch) -> dict[int, list[ClauseVersion]]:
    """Source: new clause texts, each with the text before it (agreements/events.py)."""
    return pending_for(
        batch,
        "versions",
        lambda reader: events.versions_with_previous(
            ClauseVersion.objects.visible_to(reader).order_by("proposed_on", "recorded_at", "pk")
        ),
        item_field="version",
    )


def pending_positions(batch: DigestBatch) -> dict[int, list[Position]]:
    """Source: new positions, each with the party's position before it, among those the
    audience may see (agreements/events.py)."""
    return pending_for(
        batch,
        "positions",
        lambda reader: events.positions_with_previous(
            Position.objects.visible_to(reader).order_by("taken_on", "recorded_at", "pk"), reader
        ),
        item_field="position",
    )


def programme_names(
    batch: DigestBatch,
    changes: dict[int, PendingChanges],
    statements: dict[int, list[Statement]],
) -> dict[int, dict[int, str]]:
    """Source: the names of the visible programmes each digest's changes and statements
    belong to, for its subject (one query per audience)."""
    wanted: dict[int, set[int]] = {}
    for subscription in batch.subscriptions:
        ids = {row.programme_id for row in changes[subscription.pk].rows} | {
            statement.agreement.programme_id
            for statement in statements.get(subscription.pk, [])
            if statement.agreement
        }
        ids.discard(None)
        wanted[subscription.pk] = ids
    names: dict[int, dict[int, str]] = {}
    for reader, members in batch.audiences():
        ids = set().union(*(wanted[subscription.pk] for subscription in members))
        visible = (
            dict(Programme.objects.visible_to(reader).filter(pk__in=ids).values_list("pk", "name"))
            if ids
            else {}
        )
        for subscription in members:
            names[subscription.pk] = {
                pk: visible[pk] for pk in wanted[subscription.pk] if pk in visible
            }
    return names


def standing_agreements(
    batch: DigestBatch, changes: dict[int, PendingChanges]
) -> dict[int, list[Agreement]]:
    """Source: the agreements of each digest's bottom line, with their counts and funding:
    those it follows (for a subscription that follows everything: those its listed changes
    concern), at most MAX_STANDING_LINES by title (one query per audience)."""
    wanted: dict[int, set[int]] = {}
    for subscription in batch.subscriptions:
        follows = batch.follows[subscription.pk]
        if follows.everything:
            wanted[subscription.pk] = {
                change.agreement_id or (change.clause.agreement_id if change.clause else None)
                for change in changes[subscription.pk].listed
            } - {None}
        else:
            wanted[subscription.pk] = set(follows.agreement_ids)
    found: dict[int, list[Agreement]] = {}
    for reader, members in batch.audiences():
        ids = set().union(*(wanted[subscription.pk] for subscription in members))
        if not ids:
            continue
        agreements = list(
            Agreement.objects.visible_to(reader)
            .filter(pk__in=ids)
            .with_clause_counts()
            .with_programme_funding()
            .order_by("title")
        )
        # By title, as read: each subscriber's few, without a pass over all of them each.
        place = {agreement.pk: n for n, agreement in enumerate(agreements)}
        for subscription in members:
            mine = sorted(place[pk] for pk in wanted[subscription.pk] if pk in place)
            found[subscription.pk] = [agreements[n] for n in mine[:MAX_STANDING_LINES]]
    return found


@dataclass
class DateRecords:
    milestones: list[Milestone] = field(default_factory=list)
    decisions: list[FundingSource] = field(default_factory=list)


def dates_ahead(batch: DigestBatch) -> dict[int, DateRecords]:
    """Source: followed milestones and funding decisions that may be due within the
    horizon, or overdue (two queries per audience). `upcoming_and_overdue` sorts them."""
    horizon = batch.today + UPCOMING_HORIZON
    # A year-precise date stands for up to 365 days after its stored first day.
    earliest_start = batch.today - datetime.timedelta(days=366)
    found: dict[int, DateRecords] = defaultdict(DateRecords)
    for reader, members in batch.audiences():
        follows = batch.union_of(members)
        followers = batch.followers_of(members)
        milestones = (
            Milestone.objects.visible_to(reader)
            .filter(follows.rule("milestones"))
            .filter(happens_on__lte=horizon, happens_on__gte=earliest_start)
            .with_subjects()
            .annotate(**follow_columns("milestones"))
        )
        for milestone in milestones:
            for pk in followers.of("milestones", follow_values(milestone, "milestones")):
                found[pk].milestones.append(milestone)
        decisions = (
            FundingSource.objects.visible_to(reader)
            .filter(follows.rule("funding"))
            .filter(status__in=OPEN_FUNDING_STATUSES, decision_on__lte=horizon)
            .select_related("programme")
            .annotate(**follow_columns("funding"))
        )
        for funding in decisions:
            for pk in followers.of("funding", follow_values(funding, "funding")):
                found[pk].decisions.append(funding)
    return found


def pending_idle(batch: DigestBatch) -> dict[int, list[Clause | Topic]]:
    """Source: followed clauses and topics the subscriber may see that turned idle since the
    subscription began and are in none of its digests for this quiet spell (the ledger names
    each by record and `idle_since`): a record turning idle is said once, not in every
    digest while it stays quiet. Nothing is closed. Idle as the audience may see it: an
    internal position or statement neither shows nor moves the day it is idle since. Two
    queries per audience, and one for the ledger; in a planning run, the two per audience
    are shared by the run's batches (`PlanningRun`)."""
    found: dict[int, list[Clause | Topic]] = defaultdict(list)
    for reader, members in batch.audiences():
        started = {s.pk: timezone.localdate(s.created_at) for s in members}
        followers = batch.followers_of(members)
        # A run reads for every batch, so for all the audience may see.
        followed = Follows(everything=True) if batch.run else batch.union_of(members)
        for model, kind in ((Clause, "idle_clauses"), (Topic, "idle_topics")):
            read = partial(idle_records, reader, model, kind, followed.rule(kind), batch.today)
            rows = batch.run.idle_records(reader, model, batch.today, read) if batch.run else read()
            for row in rows:
                if not row.is_idle:
                    continue
                turned = turned_idle_on(row.idle_kind, row.idle_since)
                for pk in followers.of(kind, follow_values(row, kind)):
                    if turned >= started[pk]:
                        found[pk].append(row)
    if not found:
        return {}
    clauses = {row.pk for rows in found.values() for row in rows if isinstance(row, Clause)}
    topics = {row.pk for rows in found.values() for row in rows if isinstance(row, Topic)}
    noted = set(
        DigestItem.objects.filter(subscription_id__in=list(found), idle_since__isnull=False)
        .filter(Q(idle_clause__in=clauses) | Q(idle_topic__in=topics))
        .values_list("subscription_id", "idle_clause_id", "idle_topic_id", "idle_since")
    )

    def key(pk: int, row) -> tuple:
        if isinstance(row, Clause):
            return (pk, row.pk, None, row.idle_since)
        return (pk, None, row.pk, row.idle_since)

    return {pk: [row for row in rows if key(pk, row) not in noted] for pk, rows in found.items()}


def idle_records(reader, model, kind: str, followed: Q, today: datetime.date) -> list:
    """The clauses or topics idle as `reader` may see them, among those `followed`."""
    rows = (
        model.objects.visible_to(reader)
        .filter(followed)
        .with_idle(today)
        .idle()
        .annotate(**follow_columns(kind))
        .order_by("pk")
    )
    if model is Clause:
        rows = rows.select_related("agreement")
    return list(rows)


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
    # What the next digest compares with (`DigestDelivery.standing`); {} without funding.
    amounts: dict = field(default_factory=dict)


def standing_amounts(lines: list[StandingLine]) -> dict[str, dict[str, str]]:
    """The bottom line's amounts, by agreement id, as `DigestDelivery.standing` keeps them."""
    return {key: line.amounts[key] for line in lines for key in line.amounts}


def earlier_standing(batch: DigestBatch) -> dict[int, dict]:
    """Source: the bottom-line amounts of each subscriber's last digest, the latest one
    sent (what they read; a failed or cancelled one was never read), in one query."""
    ids = [subscription.pk for subscription in batch.subscriptions if subscription.pk]
    if not ids:
        return {}
    return dict(
        DigestDelivery.objects.filter(subscription__in=ids, status=DigestDelivery.Status.SENT)
        .order_by("subscription_id", "-period_end")
        .distinct("subscription_id")
        .values_list("subscription_id", "standing")
    )


def standing_lines(
    agreements: list[Agreement], user, shared: SharedLines, earlier: dict
) -> list[StandingLine]:
    """The bottom line's words, in the current language, from `standing_agreements`; an
    amount that moved since the subscriber's last digest reads "EUR 60 million → EUR 35
    million"."""
    lines = []
    for agreement in agreements:
        line = shared.get(
            user, ("standing", agreement.pk), lambda a=agreement: standing_line(a, user)
        )
        lines.append(with_arrows(line, (earlier or {}).get(str(agreement.pk))))
    return lines


def standing_line(agreement: Agreement, user) -> StandingLine:
    funding = agreement.programme_funding if shown_to(agreement.programme, user) else None
    if funding is None:
        return StandingLine(
            title=agreement.title,
            url=absolute_url(agreement.get_absolute_url()),
            signed=agreement.clauses_signed,
            clauses=agreement.clause_total,
            uncovered_counting_secured_only="",
            uncovered_if_all_comes_through="",
        )
    currency = funding.currency
    secured_only = funding.uncovered_counting_secured_only
    if_all = funding.uncovered_if_all_comes_through
    return StandingLine(
        title=agreement.title,
        url=absolute_url(agreement.get_absolute_url()),
        signed=agreement.clauses_signed,
        clauses=agreement.clause_total,
        uncovered_counting_secured_only=money_in_words(secured_only, currency),
        uncovered_if_all_comes_through=money_in_words(if_all, currency),
        amounts={
            str(agreement.pk): {
                "currency": currency,
                "secured_only": str(secured_only),
                "if_all": str(if_all),
            }
        },
    )


def with_arrows(line: StandingLine, before: dict | None) -> StandingLine:
    """The line with "before → now" on each amount that moved since `before` (the same
    agreement's amounts in the last digest). An amount in another currency is not compared."""
    if not before or not line.amounts:
        return line
    [now] = line.amounts.values()
    if before.get("currency") != now["currency"]:
        return line
    moved = {}
    for key, attribute in (
        ("secured_only", "uncovered_counting_secured_only"),
        ("if_all", "uncovered_if_all_comes_through"),
    ):
        try:
            earlier = Decimal(before[key])
        except (KeyError, ArithmeticError, TypeError, ValueError):
            continue
        if earlier != Decimal(now[key]):
            words = money_in_words(earlier, now["currency"])
            moved[attribute] = f"{words} → {getattr(line, attribute)}"
    return replace(line, **moved) if moved else line


class SharedLines:
    """Lines worded once for all the digests of a batch that show them: a line depends
    only on its record, the language and the audience (what `shown_to` names beside it),
    and many subscribers share all three."""

    def __init__(self) -> None:
        self._lines: dict[tuple, object] = {}

    def get(self, user, key: tuple, make: Callable[[], T]) -> T:
        full = (translation.get_language(), audience(user), *key)
        if full not in self._lines:
            self._lines[full] = make()
        return self._lines[full]


@dataclass
class DigestContent:
    follows: Follows
    changes: PendingChanges
    statements: list[Statement]
    versions: list[ClauseVersion] = field(default_factory=list)
    positions: list[Position] = field(default_factory=list)
    links: list = field(default_factory=list)  # what holds it up (digests/links.py)
    standing: list[StandingLine] = field(default_factory=list)
    programme_names: dict[int, str] = field(default_factory=dict)  # visible ones only
    upcoming: list[DateLine] = field(default_factory=list)
    overdue: list[DateLine] = field(default_factory=list)
    shared_lines: SharedLines = field(default_factory=SharedLines)
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
            and not self.links
            and not self.idle
        )

    @property
    def item_count(self) -> int:
        return (
            len(self.changes.rows)
            + len(self.statements)
            + len(self.versions)
            + len(self.positions)
            + len(self.links)
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


def milestone_line(milestone: Milestone) -> DateLine:
    return DateLine(
        title=milestone.title,
        url=absolute_url(milestone.get_absolute_url()),
        when=approximate_date(milestone.happens_on, milestone.precision),
        approximate=milestone.precision != DatePrecision.DAY,
        detail=str(milestone.get_kind_display()),
    )


def decision_line(funding: FundingSource) -> DateLine:
    return DateLine(
        title=_("Decision on %(funding)s") % {"funding": funding.title},
        url=absolute_url(funding.get_absolute_url()),
        when=approximate_date(funding.decision_on, funding.decision_precision),
        approximate=funding.decision_precision != DatePrecision.DAY,
        detail=funding_detail(funding),
    )


def upcoming_and_overdue(
    dates: DateRecords, today: datetime.date, user, shared: SharedLines
) -> tuple[list[DateLine], list[DateLine]]:
    """Milestones and funding decisions due in the next 14 days (an approximate date counts
    while any day it may stand for is ahead), and overdue decisions: funding still open
    whose decision date has passed. Worded in the current language."""
    earliest_start = today - datetime.timedelta(days=366)
    upcoming: list[tuple[datetime.date, DateLine]] = []
    for milestone in dates.milestones:
        if milestone.happens_by < today:
            continue
        line = shared.get(user, ("milestone", milestone.pk), lambda m=milestone: milestone_line(m))
        upcoming.append((milestone.happens_on, line))
    overdue: list[tuple[datetime.date, DateLine]] = []
    for funding in dates.decisions:
        decided_by = date_precision_end(funding.decision_on, funding.decision_precision)
        line = shared.get(user, ("decision", funding.pk), lambda f=funding: decision_line(f))
        if decided_by < today:
            overdue.append((funding.decision_on, line))
        elif funding.decision_on >= earliest_start:
            upcoming.append((funding.decision_on, line))
    upcoming.sort(key=lambda pair: (pair[0], pair[1].title))
    overdue.sort(key=lambda pair: (pair[0], pair[1].title))
    return [line for _, line in upcoming], [line for _, line in overdue]


def collect_batch(
    subscriptions: list[Subscription], today: datetime.date, run: PlanningRun | None = None
) -> dict[int, DigestContent]:
    """Everything the digests of these subscriptions would hold now, by subscription id.
    Reads only, in a number of queries that does not grow with the batch: each source
    reads once per audience (some once per `run`, if given). Each digest is worded in its
    subscriber's language."""
    from .links import link_line, pending_links  # links build on this module
    from .wording import email_locale  # wording builds on this module

    batch = DigestBatch(subscriptions=list(subscriptions), today=today, run=run)
    batch.follows = followed_records(batch)
    changes = pending_changes(batch)
    statements = pending_statements(batch)
    versions = pending_versions(batch)
    positions = pending_positions(batch)
    names = programme_names(batch, changes, statements)
    standing = standing_agreements(batch, changes)
    earlier = earlier_standing(batch)
    dates = dates_ahead(batch)
    links = pending_links(batch)
    idle = pending_idle(batch)
    contents = {}
    shared = SharedLines()
    for subscription in batch.subscriptions:
        pk = subscription.pk
        user = subscription.user
        with email_locale(subscription.language_code):
            upcoming, overdue = upcoming_and_overdue(
                dates.get(pk, DateRecords()), today, user, shared
            )
            contents[pk] = DigestContent(
                follows=batch.follows[pk],
                changes=changes[pk],
                statements=statements.get(pk, []),
                versions=versions.get(pk, []),
                positions=positions.get(pk, []),
                links=[
                    shared.get(user, ("link", link.pk, event), partial(link_line, link, event))
                    for link, event in links.get(pk, [])
                ],
                idle=idle.get(pk, []),
                standing=standing_lines(standing.get(pk, []), user, shared, earlier.get(pk)),
                programme_names=names.get(pk, {}),
                upcoming=upcoming,
                overdue=overdue,
                shared_lines=shared,
            )
    return contents


def collect(subscription: Subscription, today: datetime.date) -> DigestContent:
    """Everything a digest of this subscription would hold now. Reads only."""
    return collect_batch([subscription], today)[subscription.pk]
