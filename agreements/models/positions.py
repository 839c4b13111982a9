"""The negotiation itself: every version of a clause's text, and each party's position on
each clause (or topic) over time.

Both are events, appended by one service each (`services.add_clause_version`,
`services.record_position`) and refused by the database on UPDATE, DELETE and TRUNCATE
(migration 0013), like the status history. What a page calls "current" is derived from them:

- a clause's current text is its latest version (`Clause.text` is written by
  `add_clause_version` only, in the same transaction, as `status` is by `change_status`);
- a party's current position on a clause is its latest position there
  (`Position.objects.visible_to(user).current(as_of)`);
- a clause's agreement level (agreed, agreed ad referendum, reserved, stale, open) is
  worked out in the database from the current positions of the agreement's negotiating
  parties (`Clause.objects.visible_to(user).with_levels(as_of)`), never stored.

Readers see the versions of the clauses they may see, and the positions that are shared, by
a party they may see, on a clause or topic they may see: a confidential reservation
(a position marked internal) changes neither the grid nor the level a reader sees.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Count, Exists, OuterRef, Q, StringAgg, Subquery, Value
from django.db.models.functions import Coalesce
from django.db.models.lookups import Exact, GreaterThan
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .base import (
    Visibility,
    VisibleQuerySet,
    aggregate_per_row,
    shared,
    visibility_constraint,
)
from .dates import (
    DatePrecision,
    approximate_date,
    check_date_precision,
    precision_constraint,
    validate_record_date,
)
from .negotiation import Clause, Topic
from .record import Party, Source
from .searching import search_document_field
from .subjects import clause_or_topic_shared, one_subject_constraint, subject_key


class EventIsAppendOnly(Exception):
    """Raised on any attempt to edit or delete a clause version or a position."""


class AppendOnlyQuerySet(VisibleQuerySet):
    def update(self, **kwargs):
        raise EventIsAppendOnly(f"{self.model.__name__} rows cannot be edited")

    def delete(self):
        raise EventIsAppendOnly(f"{self.model.__name__} rows cannot be deleted")

    def _raw_delete(self, using):
        raise EventIsAppendOnly(f"{self.model.__name__} rows cannot be deleted")


class AppendOnlyEvent(models.Model):
    """A row that is inserted once and never changed: a version, a position."""

    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="recorded_%(class)ss",
        verbose_name=_("recorded by"),
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    note = models.TextField(_("note"), blank=True)
    source = models.ForeignKey(
        Source, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("source"),
    )  # fmt: skip
    precision = models.CharField(
        _("date precision"),
        max_length=10,
        choices=DatePrecision.choices,
        default=DatePrecision.DAY,
        help_text=_("How precisely the date is known: a month is stored as its first day."),
    )

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise EventIsAppendOnly(f"{type(self).__name__} rows cannot be edited")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise EventIsAppendOnly(f"{type(self).__name__} rows cannot be deleted")

    @property
    def author_name(self) -> str:
        return self.recorded_by.get_full_name() or self.recorded_by.get_username()


# Clause versions ----------------------------------------------------------------------------


class ClauseVersionQuerySet(AppendOnlyQuerySet):
    def visibility_rule(self) -> Q:
        return shared("clause__") & shared("clause__agreement__")

    def as_of(self, day: datetime.date | None):
        return self if day is None else self.filter(proposed_on__lte=day)

    def with_details(self):
        return self.select_related("proposed_by", "source", "recorded_by", "clause__agreement")


class VersionKind(models.TextChoices):
    PROPOSAL = "proposal", _("Proposal")
    COUNTER_PROPOSAL = "counter_proposal", _("Counter-proposal")
    COMPROMISE = "compromise", _("Compromise")
    AGREED = "agreed", _("Agreed text")


class ClauseVersion(AppendOnlyEvent):
    Kind = VersionKind

    clause = models.ForeignKey(
        Clause, on_delete=models.PROTECT, related_name="versions", verbose_name=_("clause")
    )
    number = models.PositiveIntegerField(_("number"))
    text = models.TextField(_("text"))
    proposed_by = models.ForeignKey(
        Party,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="proposed_versions",
        verbose_name=_("proposed by"),
        help_text=_("Empty for a joint text."),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.PROPOSAL)
    proposed_on = models.DateField(_("date"), validators=[validate_record_date])

    objects = ClauseVersionQuerySet.as_manager()

    search_document = search_document_field("text")

    class Meta:
        ordering = ["clause", "number"]
        verbose_name = _("clause version")
        verbose_name_plural = _("clause versions")
        constraints = [
            models.UniqueConstraint(fields=["clause", "number"], name="clauseversion_number"),
            models.CheckConstraint(condition=Q(number__gte=1), name="clauseversion_number_min"),
            models.CheckConstraint(
                condition=Q(kind__in=VersionKind.values), name="clauseversion_kind_valid"
            ),
            precision_constraint("clauseversion"),
        ]
        indexes = [
            # Digests and feeds look for versions recorded since a moment.
            models.Index(fields=["recorded_at"], name="clauseversion_recorded_at"),
            # A clause's latest activity, for its idle flag (models/idle.py).
            models.Index(fields=["clause", "proposed_on"], name="clauseversion_clause_day"),
        ]

    def __str__(self) -> str:
        return _("%(clause)s, version %(number)s") % {"clause": self.clause, "number": self.number}

    def get_absolute_url(self) -> str:
        """The redline against the version before it (the first version: the clause page)."""
        if self.number == 1:
            return reverse("agreements:clause_detail", args=[self.clause_id])
        return compare_url(self.clause_id, self.number - 1, self.number)

    def clean(self) -> None:
        check_date_precision(self.proposed_on, self.precision, "proposed_on")

    @property
    def label(self) -> str:
        return _("Version %(number)s") % {"number": self.number}

    @property
    def kind_label(self) -> str:
        return str(self.get_kind_display())

    @property
    def proposer_name(self) -> str:
        return str(self.proposed_by) if self.proposed_by_id else str(_("joint text"))

    @property
    def when(self) -> str:
        return approximate_date(self.proposed_on, self.precision)


def compare_url(clause_id: int, old: int, new: int) -> str:
    return reverse("agreements:clause_compare", args=[clause_id]) + f"?from={old}&to={new}"


# Positions ----------------------------------------------------------------------------------


class Stance(models.TextChoices):
    PROPOSES = "proposes", _("Proposes")
    ACCEPTS = "accepts", _("Accepts")
    ACCEPTS_AD_REFERENDUM = "accepts_ad_referendum", _("Accepts ad referendum")
    RESERVES = "reserves", _("Reserves")
    REJECTS = "rejects", _("Rejects")
    WITHDRAWS = "withdraws", _("Withdraws")


ACCEPTING = (Stance.ACCEPTS, Stance.ACCEPTS_AD_REFERENDUM)


class ReservationKind(models.TextChoices):
    SCRUTINY = "scrutiny", _("Scrutiny")
    LINGUISTIC = "linguistic", _("Linguistic")
    SUBSTANTIVE = "substantive", _("Substantive")


class Level(models.TextChoices):
    """A clause's agreement level, derived from the current positions (`with_levels`)."""

    AGREED = "agreed", _("Agreed")
    AD_REFERENDUM = "ad_referendum", _("Agreed ad referendum")
    RESERVED = "reserved", _("Reserved")
    STALE = "stale", _("Accepted an earlier text")
    OPEN = "open", pgettext_lazy("agreement level", "Open")


class PositionQuerySet(AppendOnlyQuerySet):
    def visibility_rule(self) -> Q:
        return shared() & shared("party__") & clause_or_topic_shared()

    def with_details(self):
        return self.select_related(
            "party", "clause__agreement", "topic", "version", "source", "recorded_by"
        )

    def as_of(self, day: datetime.date | None):
        return self if day is None else self.filter(taken_on__lte=day)

    def newest_first(self):
        return self.order_by("-taken_on", "-recorded_at", "-id")

    def current(self, day: datetime.date | None = None):
        """Each party's latest position on each clause or topic (as of `day`): the rows with
        no later one for the same party and subject among those the reader may see (a
        confidential position neither shows nor hides what a reader sees)."""
        later = (
            self.model.objects.visible_to(self.reader)
            .as_of(day)
            .filter(party=OuterRef("party"))
            .filter(
                Q(taken_on__gt=OuterRef("taken_on"))
                | Q(taken_on=OuterRef("taken_on"), id__gt=OuterRef("id"))
            )
        )
        # A clause's positions have no topic and the other way round; NULL = NULL is not
        # true in SQL, so each subquery finds later rows only for the subject a row has.
        return (
            self.as_of(day)
            .exclude(Exists(later.filter(clause=OuterRef("clause"))))
            .exclude(Exists(later.filter(topic=OuterRef("topic"))))
        )


class Position(AppendOnlyEvent):
    Stance = Stance
    ReservationKind = ReservationKind

    party = models.ForeignKey(
        Party, on_delete=models.PROTECT, related_name="positions", verbose_name=_("party")
    )
    clause = subject_key(Clause, related_name="positions", verbose_name=_("clause"))
    topic = subject_key(Topic, related_name="positions", verbose_name=_("topic"))
    stance = models.CharField(_("stance"), max_length=30, choices=Stance.choices)
    reservation = models.CharField(
        _("kind of reservation"),
        max_length=20,
        choices=ReservationKind.choices,
        blank=True,
        help_text=_("Only for a reservation."),
    )
    version = models.ForeignKey(
        ClauseVersion,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="positions",
        verbose_name=_("version"),
        help_text=_("The text the position refers to; the current one if left empty."),
    )
    taken_on = models.DateField(_("date"), validators=[validate_record_date])
    statement = models.ForeignKey(
        "agreements.Statement",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="positions",
        verbose_name=_("statement"),
    )
    visibility = models.CharField(
        _("visibility"),
        max_length=10,
        choices=Visibility.choices,
        default=Visibility.SHARED,
        help_text=_(
            "An internal position (a party's confidential reservation) is seen by staff only."
        ),
    )

    objects = PositionQuerySet.as_manager()

    class Meta:
        ordering = ["-taken_on", "-recorded_at", "-id"]
        verbose_name = _("position")
        verbose_name_plural = _("positions")
        constraints = [
            visibility_constraint("position"),
            # About a clause or a topic; only a clause has versions to refer to.
            one_subject_constraint(
                "position_one_subject",
                ["clause", "topic"],
                also={"topic": {"version__isnull": True}},
            ),
            models.CheckConstraint(
                condition=Q(stance__in=Stance.values), name="position_stance_valid"
            ),
            models.CheckConstraint(
                condition=Q(stance=Stance.RESERVES, reservation__in=ReservationKind.values)
                | (~Q(stance=Stance.RESERVES) & Q(reservation="")),
                name="position_reservation_with_reserves",
            ),
            precision_constraint("position"),
        ]
        indexes = [
            # The current position: the latest per party and clause (or topic).
            models.Index(fields=["clause", "party", "taken_on", "id"], name="position_clause"),
            models.Index(fields=["topic", "party", "taken_on", "id"], name="position_topic"),
            models.Index(fields=["recorded_at"], name="position_recorded_at"),
        ]

    def __str__(self) -> str:
        return f"{self.party}: {self.get_stance_display()} · {self.subject}"

    def get_absolute_url(self) -> str:
        return self.subject.get_absolute_url()

    def clean(self) -> None:
        check_date_precision(self.taken_on, self.precision, "taken_on")

    @property
    def is_internal(self) -> bool:
        return self.visibility == Visibility.INTERNAL

    @property
    def subject(self) -> Clause | Topic:
        return self.clause or self.topic

    @property
    def when(self) -> str:
        return approximate_date(self.taken_on, self.precision)

    @property
    def stance_label(self) -> str:
        label = str(self.get_stance_display())
        if self.reservation:
            return f"{label} ({self.get_reservation_display().lower()})"
        return label


# Agreement levels ---------------------------------------------------------------------------


def with_levels(clauses, day: datetime.date | None = None):
    """`clauses` (a `visible_to` queryset) with each one's agreement level as of `day`
    (today's when None): `level`, with `current_version_pk`, `current_version_number` and
    `level_parties` (how many negotiating parties the reader sees), as columns of the
    clauses' own query (one query for a whole agreement, whatever its size).

    The negotiating parties are the agreement's. A clause is
    - *reserved* while one of them holds a reservation;
    - *agreed* when every one of them accepts its current text, *agreed ad referendum*
      when they all do but some subject to confirmation;
    - *stale* when an acceptance refers to an earlier text ("accepted an earlier text");
    - *open* otherwise (bracketed).
    Only the positions the reader may see count: a confidential reservation does not show.
    """
    reader = clauses.reader
    latest = (
        ClauseVersion.objects.visible_to(reader)
        .as_of(day)
        .filter(clause=OuterRef("pk"))
        .order_by("-number")
    )
    clauses = clauses.annotate(
        current_version_pk=Subquery(latest.values("pk")[:1]),
        current_version_number=Subquery(latest.values("number")[:1]),
        level_parties=aggregate_per_row(
            Party.objects.visible_to(reader), "agreements", Count("pk"), 0, outer="agreement"
        ),
    )
    # One grouped subquery over the clause's current positions counts every kind of
    # position at once and decides the level in it. Counts as separate columns cost a
    # subquery each, and the CASE that reads them repeated each one again (nine passes
    # over the current positions per clause).
    of_current = Q(version=OuterRef("current_version_pk"))
    accepting = Q(stance__in=ACCEPTING)

    def count(condition: Q) -> Count:
        return Count("pk", filter=condition)

    everyone_accepts = GreaterThan(OuterRef("level_parties"), 0) & Exact(
        count(accepting & of_current), OuterRef("level_parties")
    )
    levels = (
        Position.objects.visible_to(reader)
        .current(day)
        .filter(clause=OuterRef("pk"), party__agreements=OuterRef("agreement"))
        .order_by()
        .values("clause")
        .annotate(
            level=models.Case(
                models.When(
                    GreaterThan(count(Q(stance=Stance.RESERVES)), 0),
                    then=Value(Level.RESERVED),
                ),
                models.When(
                    everyone_accepts
                    & Exact(count(Q(stance=Stance.ACCEPTS_AD_REFERENDUM) & of_current), 0),
                    then=Value(Level.AGREED),
                ),
                models.When(everyone_accepts, then=Value(Level.AD_REFERENDUM)),
                models.When(
                    GreaterThan(count(accepting & ~of_current), 0), then=Value(Level.STALE)
                ),
                default=Value(Level.OPEN),
                output_field=models.CharField(),
            )
        )
        .values("level")
    )
    # A clause with no current position is open.
    return clauses.annotate(
        level=Coalesce(Subquery(levels), Value(Level.OPEN), output_field=models.CharField())
    )


def with_level_counts(agreements, day: datetime.date | None = None):
    """`agreements` (a `visible_to` queryset) with the levels of the clauses the reader may
    see, as one column (`clause_levels`, "agreed,open,open"): `agreement.level_counts`."""
    clauses = with_levels(Clause.objects.visible_to(agreements.reader), day)
    return agreements.annotate(
        clause_levels=aggregate_per_row(
            clauses,
            "agreement",
            StringAgg("level", Value(","), output_field=models.TextField()),
            Value("", output_field=models.TextField()),
        )
    )


def level_counts(levels: str) -> list[tuple[str, str, int]]:
    """(level, label, count) in the levels' order, from a `clause_levels` column."""
    found = levels.split(",") if levels else []
    return [(level, label, found.count(level)) for level, label in Level.choices]
