"""Writes to the negotiation record that have rules: status changes.

`change_status` is the only code that writes a `status`. The admin form, the admin bulk
actions, `load_demo`, imports and tests all call it, so every change has its history row.
"""

from __future__ import annotations

import datetime
import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Agreement, Clause, FundingSource, Source, StatusChange, Topic

logger = logging.getLogger(__name__)

StatusSubject = Agreement | Clause | Topic | FundingSource

KIND_BY_MODEL: dict[type, str] = {
    Agreement: StatusChange.Kind.AGREEMENT,
    Clause: StatusChange.Kind.CLAUSE,
    Topic: StatusChange.Kind.TOPIC,
    FundingSource: StatusChange.Kind.FUNDING_SOURCE,
}


class StatusChangeError(Exception):
    """A status change the record's rules refuse; the message is for the editor."""


def _history_row(
    subject: StatusSubject,
    *,
    from_status: str,
    by,
    effective_on: datetime.date,
    note: str,
    source: Source | None,
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
    )


def _check_effective_on(effective_on: datetime.date | None) -> datetime.date:
    if effective_on is None:
        return timezone.localdate()
    if not isinstance(effective_on, datetime.date):
        raise StatusChangeError(_("The effective date must be a date."))
    return effective_on


def change_status(
    subject: StatusSubject,
    *,
    to: str,
    by,
    note: str = "",
    effective_on: datetime.date | None = None,
    source: Source | None = None,
    recorded_at: datetime.datetime | None = None,
) -> StatusChange:
    """Move `subject` to status `to` and append the StatusChange row, atomically.

    Refuses an unknown status and a change to the status the record already has. Any
    move between known statuses is allowed: the tracker records what happened in the
    negotiation (a clause can be signed straight from draft, or revived after a
    withdrawal), it does not govern it.
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

    with transaction.atomic():
        # Lock the row and read its status as committed, so two editors changing the
        # same record at once produce two honest history rows, not one lost update.
        current = type(subject).objects.select_for_update().only("status").get(pk=subject.pk)
        if current.status == to:
            raise StatusChangeError(
                _("%(record)s is already “%(status)s”.")
                % {"record": subject, "status": subject.Status(to).label}
            )
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
    recorded_at: datetime.datetime | None = None,
) -> StatusChange:
    """Save a new record and the first line of its history (from nothing to its status)."""
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
            recorded_at=recorded_at,
        )
