"""Idle records: what has seen no activity for longer than its kind allows.

A record is *idle* when nothing has happened to it (a status change, a position, a new
text, a statement, a link to or from it) for longer than a threshold of its kind
(settings, from the environment):

- a clause holding an open reservation (a party's current position on it *reserves*):
  `IDLE_RESERVATION_DAYS`, 30;
- a clause pending signature: `IDLE_PENDING_CLAUSE_DAYS`, 60;
- a topic still under discussion (proposed, in discussion, no agreement yet):
  `IDLE_TOPIC_DAYS`, 90 (30 when it holds an open reservation).

It is worked out when read, as of the tracker's day (`clock.today()`), from the activity
the reader may see, and never stored; nothing is ever closed because it is idle. A record
waiting on a milestone still ahead (blocked by it) is not idle.

How, so that a list of thousands asks the database once, whatever its size: each activity
source is one `visible_to(reader)` query of (record, day) pairs (`activity_sources`), and
"had activity between two days" is the records found in any of them (`active_between`),
uncorrelated `IN (SELECT ...)` subqueries that PostgreSQL hashes once per query rather than
runs once per row (a previous attempt, a GREATEST of correlated subqueries per row, took
seconds per query on a full database). The flag (`idle_kind`) is a column of the rows'
own query; the day the quiet began (`idle_since`, for the reason) is asked afterwards, for
the idle rows fetched only, in one grouped query (`attach_idle_since`).

Two places to extend:
- `activity_sources`: where activity is found (status changes, versions, positions,
  statements, links on either side); a new kind of activity is one more entry;
- `waiting`: why a quiet record is not idle; today, an open blocker on a milestone still
  ahead (models/links.py).
"""

from __future__ import annotations

import datetime
import itertools
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import reduce

from django.conf import settings
from django.db import models
from django.db.models import Case, Exists, Max, OuterRef, Q, Value, When
from django.db.models.query import ModelIterable
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .base import audience
from .dates import EARLIEST_DATE, approximate_date

ITERATOR_CHUNK = 2000  # rows given their idle day at once when read with iterator()


class IdleKind(models.TextChoices):
    """Why a record counts as idle, and so which threshold applies."""

    RESERVATION = "reservation", _("Open reservation")
    PENDING_CLAUSE = "pending_clause", _("Pending clause")
    TOPIC = "topic", _("Topic under discussion")


def threshold(kind: str) -> int:
    """Days without activity after which a record of this kind is idle (settings)."""
    return {
        IdleKind.RESERVATION: settings.IDLE_RESERVATION_DAYS,
        IdleKind.PENDING_CLAUSE: settings.IDLE_PENDING_CLAUSE_DAYS,
        IdleKind.TOPIC: settings.IDLE_TOPIC_DAYS,
    }[kind]


def quiet_from(kind: str, today: datetime.date) -> datetime.date:
    """The first day whose activity keeps a record of this kind from being idle today:
    idle means the last activity is more than `threshold` days before today."""
    return today - datetime.timedelta(days=threshold(kind))


def turned_idle_on(kind: str, last_activity: datetime.date) -> datetime.date:
    """The first day a record of this kind, quiet since `last_activity`, counted as idle."""
    return last_activity + datetime.timedelta(days=threshold(kind) + 1)


# Activity ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActivitySource:
    """One kind of activity on one model's records: the rows a reader may see, the field
    naming the record, and the field holding the day it happened."""

    rows: Callable  # reader -> a visible_to(reader) queryset
    record: str  # "clause", "topic"
    day: str  # "effective_on", "taken_on"...

    def of(self, reader, start: datetime.date, end: datetime.date) -> models.QuerySet:
        # The record field is never NULL here: a NULL in `id IN (...)` would make
        # `NOT IN` unknown for every row.
        return (
            self.rows(reader)
            .filter(**{f"{self.record}__isnull": False, f"{self.day}__range": (start, end)})
            .order_by()
        )


def activity_sources(model) -> list[ActivitySource]:
    """Where activity on a clause or a topic is found. One place to add a source (link
    changes, once links exist): every idle flag, list filter and digest line follows.

    Status changes and clause versions are read as they are: their visibility rule is
    their record's (`StatusChangeQuerySet.visibility_rule`, `ClauseVersionQuerySet`'s), and
    they are only ever matched to records the reader may see, so the rule's joins would
    decide nothing and cost the planner a third of a page's time. Positions and statements
    have rules of their own (their own visibility, their party's or speaker's): they are
    read through `visible_to`, so that a confidential position moves no date a reader sees.
    """
    from .history import StatusChange
    from .links import Link
    from .negotiation import Clause, Statement, Topic
    from .positions import ClauseVersion, Position

    def links(reader):
        # A link counts for the records on both its sides, from the day it arose; one to a
        # record the reader cannot see is invisible, and so is its date (its rule).
        return Link.objects.visible_to(reader)

    def changes(reader):
        return StatusChange.objects.all()

    def positions(reader):
        return Position.objects.visible_to(reader)

    def statements(reader):
        return Statement.objects.visible_to(reader)

    if model is Clause:
        return [
            ActivitySource(changes, "clause", "effective_on"),
            ActivitySource(lambda reader: ClauseVersion.objects.all(), "clause", "proposed_on"),
            ActivitySource(positions, "clause", "taken_on"),
            ActivitySource(links, "clause", "linked_on"),
            ActivitySource(links, "to_clause", "linked_on"),
        ]
    if model is Topic:
        return [
            ActivitySource(changes, "topic", "effective_on"),
            ActivitySource(positions, "topic", "taken_on"),
            ActivitySource(statements, "topic", "said_on"),
            ActivitySource(links, "topic", "linked_on"),
            ActivitySource(links, "to_topic", "linked_on"),
        ]
    raise ValueError(f"{model.__name__} records are never idle")


def recorded_by(model, today: datetime.date) -> Exists:
    """Records whose history has begun by `today` (its first line is the record's creation,
    `services.record_creation`): a record not yet recorded as of a replayed day is not idle,
    there is no day it would be idle since.

    Correlated, unlike the activity windows: almost every record has begun, so the
    uncorrelated form hashed the whole status history (200,000 rows at 100x the demo) for
    every list, where this is one probe of the (record, day) index per row."""
    source = activity_sources(model)[0]
    return Exists(source.of(None, EARLIEST_DATE, today).filter(**{source.record: OuterRef("pk")}))


def active_between(model, reader, start: datetime.date, end: datetime.date) -> Q:
    """Records of `model` with activity the reader may see between two days (inclusive)."""
    return reduce(
        operator.or_,
        (
            Q(pk__in=source.of(reader, start, end).values(source.record))
            for source in activity_sources(model)
        ),
    )


def waiting(model, reader, today: datetime.date) -> Q | None:
    """Records waiting on a dated milestone still ahead: not idle, whatever their quiet.

    That is an open blocker (a *blocked by* link whose condition is unmet) on a milestone,
    as the reader may see it: the milestone's date is not yet over and it is not marked
    done. A blocker on a milestone the reader cannot see is invisible, and so is its
    effect: for that reader the record is idle as its quiet says."""
    from .links import SIDE_BY_MODEL, Link, LinkKind, milestone_passed_rule

    side = SIDE_BY_MODEL[model]
    # The milestone's own lifting rule, rather than `open_blockers()`: that works out every
    # kind of condition (a join and a subquery each), which multiplied the planning time of
    # every idle list by ten for a reader.
    blocked = (
        Link.objects.visible_to(reader)
        .filter(kind=LinkKind.BLOCKED_BY, to_milestone__isnull=False, **{f"{side}__isnull": False})
        .exclude(milestone_passed_rule("to_milestone__", today))
        .order_by()
        .values(side)
    )
    return Q(pk__in=blocked)


def last_activity(
    model, reader, ids: Iterable[int], today: datetime.date
) -> dict[int, datetime.date]:
    """The day of each record's latest activity the reader may see, up to `today`: one
    query, each source grouped by record, whatever the number of records."""
    ids = list(ids)
    if not ids:
        return {}
    parts = [
        source.of(reader, EARLIEST_DATE, today)
        .filter(**{f"{source.record}__in": ids})
        .values(source.record)
        .annotate(last=Max(source.day))
        .values_list(source.record, "last")
        for source in activity_sources(model)
    ]
    found: dict[int, datetime.date] = {}
    for pk, day in parts[0].union(*parts[1:], all=True).order_by():
        if pk not in found or day > found[pk]:
            found[pk] = day
    return found


# The flag, as a column -------------------------------------------------------------------


def idle_kind(queryset, rules: list[tuple[str, Q]], today: datetime.date) -> Case:
    """The `idle_kind` column: the first rule (kind, which records it covers) under which a
    record has been quiet past its kind's threshold, else NULL.

    A record with no history up to today is not idle (`recorded_by`)."""
    model, reader = queryset.model, queryset.reader
    waits = waiting(model, reader, today)
    # Waiting and "not yet recorded" come first, so that each is planned and run once,
    # not once per rule.
    whens = [When(waits, then=Value(None))] if waits is not None else []
    whens.append(When(~recorded_by(model, today), then=Value(None)))
    for kind, covered in rules:
        condition = covered & ~active_between(model, reader, quiet_from(kind, today), today)
        whens.append(When(condition, then=Value(kind)))
    return Case(*whens, default=Value(None), output_field=models.CharField())


def attach_idle_since(rows: list, reader, today: datetime.date) -> None:
    """Give each fetched row `idle_since` (the day of its last activity, for an idle one;
    None otherwise), in one query for all of them."""
    idle = [row for row in rows if getattr(row, "idle_kind", None)]
    days = last_activity(type(rows[0]), reader, (row.pk for row in idle), today) if idle else {}
    for row in rows:
        row.idle_since = days.get(row.pk)


# The idle flags' expressions built so far ((model, audience, day, thresholds): Case): a
# few a day in production (two models, two or three audiences).
_IDLE_COLUMNS: dict[tuple, Case] = {}
IDLE_COLUMNS_KEPT = 64


class IdleQuerySetMixin:
    """For the querysets of records that can be idle: `with_idle(today)` adds the flag
    (`idle_kind`) as a column and, once the rows are fetched, `idle_since` (one more query
    for the page, whatever its size); `idle()` keeps the idle ones only."""

    _idle_day: datetime.date | None = None

    def _clone(self):
        clone = super()._clone()
        clone._idle_day = self._idle_day
        return clone

    def idle_rules(self, today: datetime.date) -> list[tuple[str, Q]]:
        raise NotImplementedError

    def with_idle(self, today: datetime.date | None = None):
        from .. import clock

        today = today or clock.today()
        clone = self.annotate(idle_kind=self._idle_column(today))
        clone._idle_day = today
        return clone

    def _idle_column(self, today: datetime.date) -> Case:
        """`idle_kind(...)` for this reader and day, built once per process for each audience
        (base.audience: its users see the same records), day and thresholds: it holds a score of
        subqueries, and building them took a good part of a list's time. Django copies an
        expression's subqueries when a query uses it, so one built here is never changed."""
        key = (
            self.model,
            audience(self.reader),
            today,
            tuple(threshold(kind) for kind in IdleKind.values),
        )
        column = _IDLE_COLUMNS.get(key)
        if column is None:
            if len(_IDLE_COLUMNS) >= IDLE_COLUMNS_KEPT:
                _IDLE_COLUMNS.clear()
            column = _IDLE_COLUMNS[key] = idle_kind(self, self.idle_rules(today), today)
        return column

    def idle(self):
        return self.filter(idle_kind__isnull=False)

    def iterator(self, chunk_size: int | None = None):
        """Read in chunks (exports), each chunk given its `idle_since` in one query."""
        rows = super().iterator(chunk_size=chunk_size)
        if self._idle_day is None or self._iterable_class is not ModelIterable:
            yield from rows
            return
        while chunk := list(itertools.islice(rows, chunk_size or ITERATOR_CHUNK)):
            attach_idle_since(chunk, self.reader, self._idle_day)
            yield from chunk

    def _fetch_all(self):
        fresh = self._result_cache is None
        super()._fetch_all()
        if (
            fresh
            and self._idle_day is not None
            and self._iterable_class is ModelIterable
            and self._result_cache
        ):
            attach_idle_since(self._result_cache, self.reader, self._idle_day)


class IdleRecord:
    """What a record from `with_idle()` says about its quiet."""

    idle_kind: str | None = None
    idle_since: datetime.date | None = None

    @property
    def is_idle(self) -> bool:
        return bool(self.idle_kind) and self.idle_since is not None

    @property
    def idle_reason(self) -> str:
        """ "No activity since 20 Nov 2012", in the reader's language; "" if not idle."""
        if not self.is_idle:
            return ""
        since = approximate_date(self.idle_since)
        if self.idle_kind == IdleKind.RESERVATION:
            return gettext("Reservation open, no activity since %(date)s") % {"date": since}
        return gettext("No activity since %(date)s") % {"date": since}
