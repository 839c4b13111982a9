"""The negotiation's events in plain words: "Roscosmos lifted its scrutiny reservation on
clause 3", "ESA proposed a new text for clause 1: 12 words changed".

One sentence per clause version or position, written here for every place that tells
them: the digests, the feeds. What the sentence needs of the event before it (the party's
previous position, the previous text) comes with the row, from `with_previous()`: a list
of events costs one query, whatever its length.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from . import redline
from .models import (
    ClauseVersion,
    Position,
    approximate_date,
    compare_url,
    shown_to,
)


@dataclass(frozen=True)
class Event:
    sentence: str
    url: str  # a path; emails and feeds make it absolute
    when: str  # the date as precisely as it is known
    happened_on: datetime.date
    recorded_at: datetime.datetime
    recorded_by: str
    source: str
    note: str
    guid: str


def versions_with_previous(versions):
    """Versions with the text of the one before (`previous_text`), in their own query."""
    before = ClauseVersion.objects.filter(clause=OuterRef("clause"), number=OuterRef("number") - 1)
    return versions.select_related("clause", "proposed_by", "source", "recorded_by").annotate(
        previous_text=Subquery(before.values("text")[:1])
    )


def positions_with_previous(positions, reader):
    """Positions with the party's previous position on the same subject, among those
    `reader` may see (`previous_stance`, `previous_reservation`)."""
    earlier = (
        Position.objects.visible_to(reader)
        .filter(party=OuterRef("party"))
        .filter(
            Q(taken_on__lt=OuterRef("taken_on"))
            | Q(taken_on=OuterRef("taken_on"), id__lt=OuterRef("id"))
        )
        .order_by("-taken_on", "-id")
    )

    def previous(field: str):
        # A clause's positions have no topic and the other way round (NULL = NULL is false).
        on_clause = earlier.filter(clause=OuterRef("clause")).values(field)[:1]
        on_topic = earlier.filter(topic=OuterRef("topic")).values(field)[:1]
        return Coalesce(Subquery(on_clause), Subquery(on_topic))

    return positions.with_details().annotate(
        previous_stance=previous("stance"), previous_reservation=previous("reservation")
    )


def _clause_name(clause) -> str:
    return _("clause %(reference)s") % {"reference": clause.reference}


def version_sentence(version: ClauseVersion) -> str:
    clause = _clause_name(version.clause)
    party = str(version.proposed_by) if version.proposed_by_id else ""
    previous = getattr(version, "previous_text", None)
    if previous is None:
        if party:
            return _("%(party)s proposed the first text of %(clause)s") % {
                "party": party,
                "clause": clause,
            }
        return _("The first text of %(clause)s was recorded, a joint text") % {"clause": clause}
    count = redline.words_changed(previous, version.text)
    if party:
        return _("%(party)s proposed a new text for %(clause)s: %(count)d words changed") % {
            "party": party,
            "clause": clause,
            "count": count,
        }
    return _("A new joint text for %(clause)s: %(count)d words changed") % {
        "clause": clause,
        "count": count,
    }


def position_sentence(position: Position) -> str:
    values = {
        "party": str(position.party),
        "subject": _clause_name(position.clause) if position.clause_id else str(position.topic),
        "kind": position.get_reservation_display().lower() if position.reservation else "",
    }
    stance = position.stance
    previous = getattr(position, "previous_stance", None)
    if previous == Position.Stance.RESERVES and stance != Position.Stance.RESERVES:
        values["kind"] = str(Position.ReservationKind(position.previous_reservation).label).lower()
        lifted = _("%(party)s lifted its %(kind)s reservation on %(subject)s") % values
        if stance in (Position.Stance.ACCEPTS, Position.Stance.ACCEPTS_AD_REFERENDUM):
            return _("%(lifted)s and now %(stance)s") % {
                "lifted": lifted,
                "stance": position.get_stance_display().lower(),
            }
        return lifted
    sentences = {
        Position.Stance.PROPOSES: _("%(party)s made a proposal on %(subject)s"),
        Position.Stance.ACCEPTS: _("%(party)s accepted %(subject)s"),
        Position.Stance.ACCEPTS_AD_REFERENDUM: _(
            "%(party)s accepted %(subject)s ad referendum, subject to confirmation"
        ),
        Position.Stance.RESERVES: _("%(party)s entered a %(kind)s reservation on %(subject)s"),
        Position.Stance.REJECTS: _("%(party)s rejected %(subject)s"),
        Position.Stance.WITHDRAWS: _("%(party)s withdrew its position on %(subject)s"),
    }
    return sentences[stance] % values


def version_event(version: ClauseVersion, user) -> Event:
    url = (
        compare_url(version.clause_id, version.number - 1, version.number)
        if version.number > 1
        else version.clause.get_absolute_url()
    )
    source = shown_to(version.source, user)
    return Event(
        sentence=version_sentence(version),
        url=url,
        when=approximate_date(version.proposed_on, version.precision),
        happened_on=version.proposed_on,
        recorded_at=version.recorded_at,
        recorded_by=version.author_name,
        source=str(source) if source else "",
        note=version.note,
        guid=f"clauseversion-{version.pk}",
    )


def position_event(position: Position, user) -> Event:
    source = shown_to(position.source, user)
    return Event(
        sentence=position_sentence(position),
        url=position.subject.get_absolute_url(),
        when=approximate_date(position.taken_on, position.precision),
        happened_on=position.taken_on,
        recorded_at=position.recorded_at,
        recorded_by=position.author_name,
        source=str(source) if source else "",
        note=position.note,
        guid=f"position-{position.pk}",
    )


def latest_events(user, count: int) -> list[Event]:
    """The `count` most recently recorded versions and positions `user` may see, newest
    first: two queries."""
    versions = versions_with_previous(
        ClauseVersion.objects.visible_to(user).order_by("-recorded_at", "-id")
    )[:count]
    positions = positions_with_previous(
        Position.objects.visible_to(user).order_by("-recorded_at", "-id"), user
    )[:count]
    events = [version_event(v, user) for v in versions] + [
        position_event(p, user) for p in positions
    ]
    events.sort(key=lambda event: event.recorded_at, reverse=True)
    return events[:count]
