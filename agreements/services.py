"""Writes to the negotiation record that have rules: status changes.

`change_status` is the only code that writes a `status`. The admin form, the admin bulk
actions, `load_demo`, imports and tests all call it, so every change has its history row.
"""

from __future__ import annotations

import datetime
import logging

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from . import clock
from .models import (
    Agreement,
    Clause,
    FundingSource,
    Source,
    StatusChange,
    Topic,
    approximate_date,
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
