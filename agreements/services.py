"""Writes to the negotiation record that have rules: status changes, versions of clause
texts and positions.

`change_status` is the only code that writes a `status`, `add_clause_version` the only one
that writes a clause's `text`, `record_position` the only one that adds a position. The
admin forms, the admin bulk actions, `load_demo`, imports and tests all call them.
"""

from __future__ import annotations

import datetime
import logging

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from . import clock
from .models import (
    CONDITION_SIDES,
    DEFAULT_CONDITION,
    SIDE_BY_MODEL,
    SIDE_MODELS,
    SIDES,
    Agreement,
    Clause,
    ClauseVersion,
    DatePrecision,
    FundingSource,
    LiftingCondition,
    Link,
    LinkKind,
    Party,
    Position,
    RecordKey,
    Source,
    Statement,
    StatusChange,
    Topic,
    Visibility,
    approximate_date,
    check_date_precision,
    validate_record_date,
)

logger = logging.getLogger(__name__)

StatusSubject = Agreement | Clause | Topic | FundingSource

KIND_BY_MODEL: dict[type, str] = {
    Agreement: StatusChange.Kind.AGREEMENT,
    Clause: StatusChange.Kind.CLAUSE,
    Topic: StatusChange.Kind.TOPIC,
    FundingSource: StatusChange.Kind.FUNDING_SOURCE,
}


# The statuses that settle something: a reader must be able to see where that comes from,
# or see that nobody has given its source yet.
NEEDS_SOURCE = frozenset({"signed", "secured", "agreed"})


class StatusChangeError(Exception):
    """A status change the record's rules refuse; the message is for the editor."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        # The form field the editor should correct ("effective_on", "source"), if one is.
        self.field = field


def _history_row(
    subject: StatusSubject,
    *,
    from_status: str,
    by,
    effective_on: datetime.date,
    note: str,
    source: Source | None,
    no_source_yet: bool,
    recorded_at: datetime.datetime | None,
) -> StatusChange:
    kind = KIND_BY_MODEL[type(subject)]
    return StatusChange.objects.create(
        kind=kind,
        **{kind: subject},
        from_status=from_status,
        to_status=subject.status,
        recorded_by=by,
        recorded_at=recorded_at or timezone.now(),
        effective_on=effective_on,
        note=note,
        source=source,
        no_source_yet=no_source_yet and source is None,
    )


def _check_effective_on(effective_on: datetime.date | None) -> datetime.date:
    """The date a change took effect: today if not given, never after today."""
    today = clock.today()
    if effective_on is None:
        return today
    if not isinstance(effective_on, datetime.date) or isinstance(effective_on, datetime.datetime):
        raise StatusChangeError(_("The effective date must be a date."), field="effective_on")
    if effective_on > today:
        raise StatusChangeError(
            _("The effective date cannot be after today (%(today)s).")
            % {"today": approximate_date(today)},
            field="effective_on",
        )
    return effective_on


def _check_after_history(subject: StatusSubject, effective_on: datetime.date) -> None:
    """History reads in date order: a change cannot take effect before the record's latest
    one, which the append-only history could never put right afterwards."""
    kind = KIND_BY_MODEL[type(subject)]
    latest = StatusChange.objects.filter(**{kind: subject}).aggregate(latest=Max("effective_on"))[
        "latest"
    ]
    if latest is not None and effective_on < latest:
        raise StatusChangeError(
            _("The effective date must be on or after %(date)s, this %(kind)s's last change.")
            % {"date": approximate_date(latest), "kind": subject._meta.verbose_name},
            field="effective_on",
        )


def _check_source(to: str, source: Source | None, no_source_yet: bool) -> None:
    if to in NEEDS_SOURCE and source is None and not no_source_yet:
        raise StatusChangeError(
            _("Give the source of this status, or say that there is no source yet."),
            field="source",
        )


def check_status_change(
    subject: StatusSubject,
    *,
    to: str,
    effective_on: datetime.date | None = None,
    source: Source | None = None,
    no_source_yet: bool = False,
    note: str = "",
) -> None:
    """Raise the StatusChangeError `change_status` would raise on the date or the source,
    without writing: forms call it to show the refusal on the field to correct."""
    effective_on = _check_effective_on(effective_on)
    _check_source(to, source, no_source_yet)
    if subject.pk is not None:
        _check_after_history(subject, effective_on)


def change_status(
    subject: StatusSubject,
    *,
    to: str,
    by,
    note: str = "",
    effective_on: datetime.date | None = None,
    source: Source | None = None,
    no_source_yet: bool = False,
    recorded_at: datetime.datetime | None = None,
) -> StatusChange:
    """Move `subject` to status `to` and append the StatusChange row, atomically.

    Refuses an unknown status and a change to the status the record already has; an
    effective date after today (`clock.today()`) or before the record's latest history
    line; and a status that settles something (NEEDS_SOURCE) with neither a source nor
    `no_source_yet`, which readers then see. Any move between known statuses is allowed:
    the tracker records what happened in the negotiation (a clause can be signed straight
    from draft, or revived after a withdrawal), it does not govern it.
    """
    if type(subject) not in KIND_BY_MODEL:
        raise StatusChangeError(_("This kind of record has no status."))
    if subject.pk is None:
        raise StatusChangeError(_("Save the record before changing its status."))
    if to not in subject.Status.values:
        raise StatusChangeError(
            _("“%(status)s” is not a status of a %(kind)s.")
            % {"status": to, "kind": subject._meta.verbose_name}
        )
    effective_on = _check_effective_on(effective_on)
    _check_source(to, source, no_source_yet)

    with transaction.atomic():
        # Lock the row and read its status as committed, so two editors changing the
        # same record at once produce two honest history rows, not one lost update.
        current = type(subject).objects.select_for_update().only("status").get(pk=subject.pk)
        if current.status == to:
            raise StatusChangeError(
                _("%(record)s is already “%(status)s”.")
                % {"record": subject, "status": subject.Status(to).label}
            )
        _check_after_history(subject, effective_on)
        from_status = current.status
        subject.status = to
        subject._status_change_in_progress = True
        try:
            subject.save(update_fields=["status", "updated_at"])
        finally:
            subject._status_change_in_progress = False
        change = _history_row(
            subject,
            from_status=from_status,
            by=by,
            effective_on=effective_on,
            note=note,
            source=source,
            no_source_yet=no_source_yet,
            recorded_at=recorded_at,
        )
    logger.info(
        "status change %s: %s %s %s -> %s by %s",
        change.pk,
        change.kind,
        subject.pk,
        from_status,
        to,
        getattr(by, "username", by),
    )
    return change


def record_creation(
    subject: StatusSubject,
    *,
    by,
    note: str = "",
    effective_on: datetime.date | None = None,
    source: Source | None = None,
    no_source_yet: bool = False,
    recorded_at: datetime.datetime | None = None,
) -> StatusChange:
    """Save a new record and the first line of its history (from nothing to its status).

    The date is checked as `change_status` checks it; the source rule is not applied to
    a creation: a record entered as it already stands (Italy's secured EUR 30 million) is
    sourced by the record as a whole, and the admin's inlines add rows without one."""
    if type(subject) not in KIND_BY_MODEL:
        raise StatusChangeError(_("This kind of record has no status."))
    if subject.status not in subject.Status.values:
        raise StatusChangeError(
            _("“%(status)s” is not a status of a %(kind)s.")
            % {"status": subject.status, "kind": subject._meta.verbose_name}
        )
    if not subject._state.adding:
        raise StatusChangeError(_("This record exists already; change its status instead."))
    effective_on = _check_effective_on(effective_on)
    with transaction.atomic():
        subject.save()
        return _history_row(
            subject,
            from_status="",
            by=by,
            effective_on=effective_on,
            note=note,
            source=source,
            no_source_yet=no_source_yet,
            recorded_at=recorded_at,
        )


# The negotiation: versions of clause texts, positions ---------------------------------------


class NegotiationError(Exception):
    """A version or position the record's rules refuse; the message is for the editor."""


def _checked_date(day: datetime.date | None, precision: str, field: str) -> datetime.date:
    if precision not in DatePrecision.values:
        raise NegotiationError(_("Unknown date precision."))
    if day is None:
        day = timezone.localdate()
    elif not isinstance(day, datetime.date):
        raise NegotiationError(_("The date must be a date."))
    try:
        validate_record_date(day)
        check_date_precision(day, precision, field)
    except ValidationError as error:
        raise NegotiationError(" ".join(error.messages)) from error
    return day


def add_clause_version(
    clause: Clause,
    *,
    text: str,
    by,
    proposed_by: Party | None = None,
    kind: str = ClauseVersion.Kind.PROPOSAL,
    proposed_on: datetime.date | None = None,
    precision: str = DatePrecision.DAY,
    source: Source | None = None,
    note: str = "",
    recorded_at: datetime.datetime | None = None,
) -> ClauseVersion:
    """Append a new text to `clause` and make it the clause's current text, atomically.

    Refuses an empty text and one identical to the current version: a version is a change.
    """
    text = (text or "").strip()
    if not text:
        raise NegotiationError(_("A version needs a text."))
    if kind not in ClauseVersion.Kind.values:
        raise NegotiationError(_("Unknown kind of version."))
    if clause.pk is None:
        raise NegotiationError(_("Save the clause before adding a version of its text."))
    proposed_on = _checked_date(proposed_on, precision, "proposed_on")
    with transaction.atomic():
        # Lock the clause: two editors adding a version at once get numbers n and n+1.
        Clause.objects.select_for_update().only("pk").get(pk=clause.pk)
        latest = clause.versions.order_by("-number").first()
        if latest is not None and latest.text == text:
            raise NegotiationError(
                _("This is the text of version %(number)s already.") % {"number": latest.number}
            )
        version = ClauseVersion.objects.create(
            clause=clause,
            number=(latest.number + 1) if latest else 1,
            text=text,
            proposed_by=proposed_by,
            kind=kind,
            proposed_on=proposed_on,
            precision=precision,
            source=source,
            note=note,
            recorded_by=by,
            recorded_at=recorded_at or timezone.now(),
        )
        clause.text = text
        clause._version_in_progress = True
        try:
            clause.save(update_fields=["text", "updated_at"])
        finally:
            clause._version_in_progress = False
    logger.info(
        "clause version %s: clause %s v%s by %s",
        version.pk,
        clause.pk,
        version.number,
        getattr(by, "username", by),
    )
    return version


def check_position(
    party: Party,
    *,
    stance: str,
    clause: Clause | None = None,
    topic: Topic | None = None,
    reservation: str = "",
    version: ClauseVersion | None = None,
) -> ClauseVersion | None:
    """Raise NegotiationError unless the position may be recorded; return the version it
    refers to (the clause's current one unless given). The admin's form asks it first."""
    if (clause is None) == (topic is None):
        raise NegotiationError(_("A position is on one clause or one topic."))
    if stance not in Position.Stance.values:
        raise NegotiationError(_("Unknown stance."))
    if stance == Position.Stance.RESERVES:
        if reservation not in Position.ReservationKind.values:
            raise NegotiationError(_("Say what kind of reservation it is."))
    elif reservation:
        raise NegotiationError(_("Only a reservation has a kind."))
    if topic is not None:
        if version is not None:
            raise NegotiationError(_("A topic has no versions of a text."))
        if not topic.parties.filter(pk=party.pk).exists():
            raise NegotiationError(_("%(party)s is not a party to this topic.") % {"party": party})
        return None
    if not clause.agreement.parties.filter(pk=party.pk).exists():
        raise NegotiationError(
            _("%(party)s does not negotiate this clause's agreement.") % {"party": party}
        )
    if version is None:
        version = clause.versions.order_by("-number").first()
        if version is None:
            raise NegotiationError(_("Record the clause's text before positions on it."))
    elif version.clause_id != clause.pk:
        raise NegotiationError(_("This version is of another clause."))
    return version


def record_position(
    party: Party,
    *,
    stance: str,
    by,
    clause: Clause | None = None,
    topic: Topic | None = None,
    reservation: str = "",
    version: ClauseVersion | None = None,
    taken_on: datetime.date | None = None,
    precision: str = DatePrecision.DAY,
    source: Source | None = None,
    statement: Statement | None = None,
    note: str = "",
    internal: bool = False,
    recorded_at: datetime.datetime | None = None,
) -> Position:
    """Append `party`'s position on a clause (on its current text unless `version` says
    which) or on a topic. The party must be one negotiating the clause's agreement, or
    the topic."""
    taken_on = _checked_date(taken_on, precision, "taken_on")
    with transaction.atomic():
        version = check_position(
            party,
            stance=stance,
            clause=clause,
            topic=topic,
            reservation=reservation,
            version=version,
        )
        position = Position.objects.create(
            party=party,
            clause=clause,
            topic=topic,
            stance=stance,
            reservation=reservation,
            version=version,
            taken_on=taken_on,
            precision=precision,
            source=source,
            statement=statement,
            note=note,
            visibility=Visibility.INTERNAL if internal else Visibility.SHARED,
            recorded_by=by,
            recorded_at=recorded_at or timezone.now(),
        )
    logger.info(
        "position %s: %s %s on %s by %s",
        position.pk,
        party.pk,
        stance,
        position.subject,
        getattr(by, "username", by),
    )
    return position


# Links: what holds what up -------------------------------------------------------------------

# One lock for every write that may close a cycle: two editors each adding half of a cycle
# at the same moment would each find none without it. Held to the end of the transaction.
LINK_GRAPH_LOCK = 0x4C494E4B  # "LINK"


class LinkError(Exception):
    """A link the rules refuse (a cycle, a condition that does not fit); for the editor."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _ordering_edge(kind: str, record: RecordKey, other: RecordKey) -> tuple[RecordKey, RecordKey]:
    """A blocker or a precedence as "first, then": "A blocked by B" means B comes first."""
    return (other, record) if kind == LinkKind.BLOCKED_BY else (record, other)


def find_cycle(edges: list[tuple[RecordKey, RecordKey]]) -> list[RecordKey] | None:
    """A cycle among "first, then" edges, as the records in order (the first repeated at the
    end), or None."""
    following: dict[RecordKey, list[RecordKey]] = {}
    for first, then in edges:
        following.setdefault(first, []).append(then)
    done: set[RecordKey] = set()
    for start in list(following):
        if start in done:
            continue
        # Depth first, without recursion: (node, its next child's index) and the path.
        path: list[RecordKey] = [start]
        on_path = {start}
        stack = [(start, iter(following.get(start, ())))]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                path.pop()
                on_path.discard(node)
                done.add(node)
                continue
            if child in on_path:
                return [*path[path.index(child) :], child]
            if child not in done:
                path.append(child)
                on_path.add(child)
                stack.append((child, iter(following.get(child, ()))))
    return None


def describe_records(keys: list[RecordKey]) -> list[str]:
    """The records' names, for an editor (who sees every record)."""
    names: dict[RecordKey, str] = {}
    for side in {key.side for key in keys}:
        model = SIDE_MODELS[side]
        wanted = [key.pk for key in keys if key.side == side]
        for record in model.objects.filter(pk__in=wanted):
            names[RecordKey(side, record.pk)] = str(record)
    return [names.get(key, f"{key.side} {key.pk}") for key in keys]


def check_link(link: Link) -> None:
    """The rules of one link on its own: a blocker's condition fits the blocker's kind (the
    editor may leave it empty for the blocker's usual one), no lag but for precedence."""
    if link.kind == LinkKind.BLOCKED_BY:
        side = link.other_key.side
        if not link.condition:
            link.condition = DEFAULT_CONDITION[side]
        elif CONDITION_SIDES[LiftingCondition(link.condition)] != side:
            fitting = [c.label for c, s in CONDITION_SIDES.items() if s == side]
            raise LinkError(
                _("A %(kind)s lifts a blocker only when %(conditions)s.")
                % {
                    "kind": SIDE_MODELS[side]._meta.verbose_name,
                    "conditions": _(" or ").join(str(label) for label in fitting),
                },
                field="condition",
            )
    else:
        link.condition = ""
    if link.kind != LinkKind.PRECEDES:
        link.lag_days = 0
    if link.record_key == link.other_key:
        raise LinkError(_("A record cannot be linked to itself."))


def check_no_cycle(new_links: list[Link], removed_ids: set[int] = frozenset()) -> None:
    """Refuse `new_links` (added or changed) if, with every other link in the database but
    `removed_ids`, blockers and precedence would go round in a circle. The message names
    the cycle."""
    ordering = (LinkKind.BLOCKED_BY, LinkKind.PRECEDES)
    replaced = {link.pk for link in new_links if link.pk} | set(removed_ids)
    edges = []
    fields = ["kind", *(f"{side}_id" for side in SIDES), *(f"to_{side}_id" for side in SIDES)]
    for row in Link.objects.filter(kind__in=ordering).exclude(pk__in=replaced).only(*fields):
        edges.append(_ordering_edge(row.kind, row.record_key, row.other_key))
    for link in new_links:
        if link.kind in ordering:
            edges.append(_ordering_edge(link.kind, link.record_key, link.other_key))
    cycle = find_cycle(edges)
    if cycle:
        raise LinkError(
            _("These links would go round in a circle: %(cycle)s.")
            % {"cycle": " → ".join(describe_records(cycle))}
        )


def lock_link_graph() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LINK_GRAPH_LOCK])


def record_links(
    links: list[Link], *, by, removed: list[Link] = (), reason: str = ""
) -> list[Link]:
    """Save `links` (new or changed) and delete `removed`, all at once, refusing any cycle
    they would make with the other links (`LinkError`, naming the cycle). The admin's two
    inlines of a record page (blocked by, holds up) are saved together through here."""
    with transaction.atomic():
        lock_link_graph()
        for link in links:
            check_link(link)
        check_no_cycle(links, {link.pk for link in removed if link.pk})
        for link in removed:
            link.delete()
        for link in links:
            if link._state.adding and link.recorded_by_id is None:
                link.recorded_by = by
            link.save()
    for link in links:
        logger.info("link %s: %s by %s", link.pk, link, getattr(by, "username", by))
    return links


def record_link(record, kind: str, other, *, by, **fields) -> Link:
    """One link from `record` to `other` ("the agreement is blocked by the savings")."""
    link = Link(
        kind=kind,
        **{SIDE_BY_MODEL[type(record)]: record},
        **{f"to_{SIDE_BY_MODEL[type(other)]}": other},
        **fields,
    )
    return record_links([link], by=by)[0]
