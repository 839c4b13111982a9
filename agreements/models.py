"""The negotiation record: who negotiates, what is agreed, what it costs, what was said.

Every record a reader can see has a `visibility`; `objects.visible_to(user)` on each model is
the one place that decides what a user may read. Every status is written by
`agreements.services.change_status`, which appends a `StatusChange` row in the same
transaction; the models below refuse any other write to a status.
"""

from __future__ import annotations

import calendar
import datetime
import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

ZERO = Decimal("0")
READER_PERMISSION = "agreements.view_agreement"


class Visibility(models.TextChoices):
    SHARED = "shared", _("Shared with readers")
    INTERNAL = "internal", _("Internal (staff only)")


class DatePrecision(models.TextChoices):
    DAY = "day", _("Exact day")
    MONTH = "month", _("Month")
    YEAR = "year", _("Year")


def can_read(user) -> bool:
    """Readers are staff or hold the reader permission (the groups Stakeholders, Managers and
    Editors have it).

    One query, remembered on the user object for the rest of the request: every page asks,
    and `has_perm` would load all of the user's permissions in two.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_staff or user.is_superuser:
        return True
    cached = getattr(user, "_can_read", None)
    if cached is None:
        cached = reader_permission(user).exists()
        user._can_read = cached
    return cached


def reader_permission(user) -> models.QuerySet:
    """The reader permission, if `user` holds it directly or through a group."""
    from django.contrib.auth.models import Permission

    app_label, codename = READER_PERMISSION.split(".")
    return Permission.objects.filter(content_type__app_label=app_label, codename=codename).filter(
        Q(user=user) | Q(group__user=user)
    )


def shared(prefix: str = "") -> Q:
    return Q(**{f"{prefix}visibility": Visibility.SHARED})


def shared_or_absent(relation: str) -> Q:
    """An optional link to a record that is absent, or present and shared."""
    return Q(**{f"{relation}__isnull": True}) | shared(f"{relation}__")


def check_date_precision(value: datetime.date | None, precision: str, field: str) -> None:
    """A month-precise date is stored as the 1st; a year-precise one as 1 January."""
    if value is None:
        return
    if precision == DatePrecision.MONTH and value.day != 1:
        raise ValidationError(
            {field: _("A date known to the month must be the first day of that month.")}
        )
    if precision == DatePrecision.YEAR and (value.month, value.day) != (1, 1):
        raise ValidationError({field: _("A date known to the year must be 1 January.")})


def date_precision_end(value: datetime.date, precision: str) -> datetime.date:
    """The last day an approximate date may stand for (31 Dec for "2022")."""
    if precision == DatePrecision.YEAR:
        return datetime.date(value.year, 12, 31)
    if precision == DatePrecision.MONTH:
        return value.replace(day=calendar.monthrange(value.year, value.month)[1])
    return value


class VisibleQuerySet(models.QuerySet):
    """Reads start here: `Model.objects.visible_to(user)`."""

    def visibility_rule(self) -> Q:
        return shared()

    def visible_to(self, user):
        if not can_read(user):
            return self.none()
        if user.is_staff:
            return self.all()
        return self.filter(self.visibility_rule())


class VisibleRecord(models.Model):
    visibility = models.CharField(
        _("visibility"),
        max_length=10,
        choices=Visibility.choices,
        default=Visibility.SHARED,
        help_text=_("Internal records are seen by staff only, everywhere."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        abstract = True

    @property
    def is_internal(self) -> bool:
        return self.visibility == Visibility.INTERNAL


def visibility_constraint(name: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(visibility__in=Visibility.values), name=f"{name}_visibility_valid"
    )


# Status-bearing records -----------------------------------------------------------------


class StatusWriteRefused(Exception):
    """Raised when code other than services.change_status tries to write a status."""


class StatusQuerySet(VisibleQuerySet):
    def update(self, **kwargs):
        # A bulk update of `status` would skip the history; only the service writes it.
        if "status" in kwargs:
            raise StatusWriteRefused("status is written only by agreements.services.change_status")
        return super().update(**kwargs)


class StatusRecord(VisibleRecord):
    """A record whose `status` changes only through services.change_status.

    The loaded status is remembered; saving a different one without the service's
    permission slip raises, so no code path can skip the StatusChange row.
    """

    objects = StatusQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        loaded = getattr(self, "_loaded_status", None)
        if (
            not self._state.adding
            and loaded is not None
            and self.status != loaded
            and not getattr(self, "_status_change_in_progress", False)
        ):
            raise StatusWriteRefused(
                f"{type(self).__name__} {self.pk}: status is written only by "
                "agreements.services.change_status"
            )
        super().save(*args, **kwargs)
        self._loaded_status = self.status

    @classmethod
    def from_db(cls, db, field_names, values, **kwargs):
        instance = super().from_db(db, field_names, values, **kwargs)
        instance._loaded_status = instance.__dict__.get("status")
        return instance


def status_constraint(name: str, choices) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(status__in=choices.values), name=f"{name}_status_valid"
    )


# Parties, people, sources -----------------------------------------------------------------


class PartyKind(models.TextChoices):
    AGENCY = "agency", _("Space agency")
    STATE = "state", _("State")
    COMMITTEE = "committee", _("Committee")
    OTHER = "other", _("Other")


class Party(VisibleRecord):
    Kind = PartyKind

    name = models.CharField(_("name"), max_length=200)
    short_name = models.CharField(_("short name"), max_length=40, blank=True)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.AGENCY)

    class Meta:
        ordering = ["name"]
        verbose_name = _("party")
        verbose_name_plural = _("parties")
        constraints = [
            visibility_constraint("party"),
            models.CheckConstraint(condition=Q(kind__in=PartyKind.values), name="party_kind_valid"),
        ]

    def __str__(self) -> str:
        return self.short_name or self.name


class Person(VisibleRecord):
    name = models.CharField(_("name"), max_length=200)
    party = models.ForeignKey(
        Party, on_delete=models.PROTECT, related_name="people", verbose_name=_("party")
    )
    role = models.CharField(_("role"), max_length=200, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("person")
        verbose_name_plural = _("people")
        constraints = [visibility_constraint("person")]

    def __str__(self) -> str:
        return self.name


class SourceKind(models.TextChoices):
    NEWS = "news", _("News report")
    MINUTES = "minutes", _("Minutes")
    LETTER = "letter", _("Letter")
    STATEMENT = "statement", _("Official statement")
    OTHER = "other", _("Other")


class Source(VisibleRecord):
    Kind = SourceKind

    title = models.CharField(_("title"), max_length=300)
    publisher = models.CharField(_("publisher"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.NEWS)
    published_on = models.DateField(_("published on"), null=True, blank=True)
    url = models.URLField(_("link"), max_length=500, blank=True)

    class Meta:
        ordering = ["-published_on", "title"]
        verbose_name = _("source")
        verbose_name_plural = _("sources")
        constraints = [
            visibility_constraint("source"),
            models.CheckConstraint(
                condition=Q(kind__in=SourceKind.values), name="source_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        if self.publisher:
            return f"{self.title} ({self.publisher})"
        return self.title


# Money ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FundingBreakdown:
    """How a programme's gap is being closed, derived from its funding sources."""

    currency: str
    in_question: Decimal
    secured: Decimal = ZERO
    expected: Decimal = ZERO
    potential: Decimal = ZERO
    contingent: Decimal = ZERO
    lost: Decimal = ZERO

    @property
    def found(self) -> Decimal:
        """Everything that may come through: a pledge is counted here, not as money."""
        return self.secured + self.expected + self.potential + self.contingent

    @property
    def uncovered_if_all_comes_through(self) -> Decimal:
        return max(self.in_question - self.found, ZERO)

    @property
    def uncovered_counting_secured_only(self) -> Decimal:
        return max(self.in_question - self.secured, ZERO)

    def share(self, amount: Decimal) -> Decimal:
        """Percentage of the amount in question, for bars and labels."""
        if not self.in_question:
            return ZERO
        return min(amount * 100 / self.in_question, Decimal(100)).quantize(Decimal("0.1"))


class ProgrammeQuerySet(VisibleQuerySet):
    pass


class Programme(VisibleRecord):
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    summary = models.TextField(_("summary"), blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    estimated_cost = models.DecimalField(
        _("estimated cost"),
        max_digits=16,
        decimal_places=2,
        validators=[MinValueValidator(ZERO)],
    )
    cost_note = models.CharField(
        _("cost note"),
        max_length=200,
        blank=True,
        help_text=_("For example the same cost in another currency."),
    )
    amount_in_question = models.DecimalField(
        _("amount in question"),
        max_digits=16,
        decimal_places=2,
        default=ZERO,
        validators=[MinValueValidator(ZERO)],
        help_text=_("The part of the cost that is not yet paid for."),
    )

    objects = ProgrammeQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("programme")
        verbose_name_plural = _("programmes")
        constraints = [
            visibility_constraint("programme"),
            models.CheckConstraint(
                condition=Q(estimated_cost__gte=0), name="programme_cost_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(amount_in_question__gte=0),
                name="programme_in_question_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="programme_currency_iso"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("agreements:programme_detail", args=[self.slug])

    def funding(self, user=None) -> FundingBreakdown:
        """Totals by status in one aggregate query, over the sources `user` may see.

        With no user, every source counts (staff, admin, digests for staff).
        """
        sources = FundingSource.objects.filter(programme=self)
        if user is not None:
            sources = sources.visible_to(user)
        totals = sources.aggregate(
            **{
                status: Coalesce(
                    Sum("amount", filter=Q(status=status)),
                    ZERO,
                    output_field=models.DecimalField(max_digits=18, decimal_places=2),
                )
                for status in FundingSource.Status.values
            }
        )
        return FundingBreakdown(
            currency=self.currency, in_question=self.amount_in_question, **totals
        )


class FundingSourceQuerySet(StatusQuerySet):
    def visibility_rule(self) -> Q:
        return shared() & shared("programme__")


class FundingStatus(models.TextChoices):
    SECURED = "secured", _("Secured")
    EXPECTED = "expected", _("Expected")
    POTENTIAL = "potential", _("Potential")
    CONTINGENT = "contingent", _("Contingent")
    LOST = "lost", _("Lost")


class FundingSource(StatusRecord):
    Status = FundingStatus

    programme = models.ForeignKey(
        Programme,
        on_delete=models.PROTECT,
        related_name="funding_sources",
        verbose_name=_("programme"),
    )
    title = models.CharField(_("title"), max_length=200)
    contributor = models.ForeignKey(
        Party,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="funding_sources",
        verbose_name=_("contributor"),
    )
    amount = models.DecimalField(
        _("amount"), max_digits=16, decimal_places=2, validators=[MinValueValidator(ZERO)]
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.POTENTIAL
    )
    condition = models.TextField(_("condition"), blank=True)
    decision_on = models.DateField(_("decision expected on"), null=True, blank=True)
    decision_precision = models.CharField(
        _("decision date precision"),
        max_length=10,
        choices=DatePrecision.choices,
        default=DatePrecision.DAY,
    )
    source = models.ForeignKey(
        Source, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("source")
    )

    objects = FundingSourceQuerySet.as_manager()

    class Meta:
        ordering = ["programme", "-amount", "title"]
        verbose_name = _("funding source")
        verbose_name_plural = _("funding sources")
        constraints = [
            visibility_constraint("fundingsource"),
            status_constraint("fundingsource", FundingStatus),
            models.CheckConstraint(
                condition=Q(amount__gte=0), name="fundingsource_amount_non_negative"
            ),
        ]
        indexes = [
            # Funding totals aggregate a programme's sources by status.
            models.Index(fields=["programme", "status"], name="funding_programme_status"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return self.programme.get_absolute_url()

    def clean(self) -> None:
        check_date_precision(self.decision_on, self.decision_precision, "decision_on")


# Agreements and their clauses -------------------------------------------------------------


class AgreementQuerySet(StatusQuerySet):
    pass


class AgreementStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    APPROVED = "approved", _("Draft approved")
    SIGNED = "signed", _("Signed")
    ABANDONED = "abandoned", _("Abandoned")


class Agreement(StatusRecord):
    Status = AgreementStatus

    title = models.CharField(_("title"), max_length=300)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    parties = models.ManyToManyField(
        Party, related_name="agreements", blank=True, verbose_name=_("parties")
    )
    programme = models.ForeignKey(
        Programme,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="agreements",
        verbose_name=_("programme"),
    )
    summary = models.TextField(_("summary"), blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )

    objects = AgreementQuerySet.as_manager()

    class Meta:
        ordering = ["title"]
        verbose_name = _("agreement")
        verbose_name_plural = _("agreements")
        constraints = [
            visibility_constraint("agreement"),
            status_constraint("agreement", AgreementStatus),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("agreements:agreement_detail", args=[self.slug])


class ClauseQuerySet(StatusQuerySet):
    def visibility_rule(self) -> Q:
        return shared() & shared("agreement__")


class ClauseStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING = "pending", _("Pending signature")
    SIGNED = "signed", _("Signed")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Clause(StatusRecord):
    Status = ClauseStatus

    agreement = models.ForeignKey(
        Agreement, on_delete=models.PROTECT, related_name="clauses", verbose_name=_("agreement")
    )
    reference = models.CharField(
        _("reference"), max_length=20, help_text=_("Article or clause number, e.g. 2 or 4.1.")
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    title = models.CharField(_("title"), max_length=300)
    text = models.TextField(_("text"), blank=True)
    obligated_party = models.ForeignKey(
        Party,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="obligations",
        verbose_name=_("obligated party"),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )

    objects = ClauseQuerySet.as_manager()

    class Meta:
        ordering = ["agreement", "position", "reference"]
        verbose_name = _("clause")
        verbose_name_plural = _("clauses")
        constraints = [
            visibility_constraint("clause"),
            status_constraint("clause", ClauseStatus),
            models.UniqueConstraint(
                fields=["agreement", "reference"], name="clause_reference_unique"
            ),
        ]
        indexes = [
            # Agreement pages list and count an agreement's clauses by status.
            models.Index(fields=["agreement", "status"], name="clause_agreement_status"),
        ]

    def __str__(self) -> str:
        return pgettext("clause with its reference", "Clause %(reference)s · %(title)s") % {
            "reference": self.reference,
            "title": self.title,
        }

    def get_absolute_url(self) -> str:
        return reverse("agreements:clause_detail", args=[self.pk])


# Topics under discussion -----------------------------------------------------------------


class TopicStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    IN_DISCUSSION = "in_discussion", _("In discussion")
    NO_AGREEMENT = "no_agreement", _("No agreement yet")
    AGREED = "agreed", _("Agreed")
    DROPPED = "dropped", _("Dropped")


class Topic(StatusRecord):
    Status = TopicStatus

    title = models.CharField(_("title"), max_length=300)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    parties = models.ManyToManyField(
        Party, related_name="topics", blank=True, verbose_name=_("parties")
    )
    summary = models.TextField(_("summary"), blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PROPOSED
    )
    next_step = models.CharField(_("next step"), max_length=300, blank=True)

    class Meta:
        ordering = ["title"]
        verbose_name = _("topic")
        verbose_name_plural = _("topics")
        constraints = [visibility_constraint("topic"), status_constraint("topic", TopicStatus)]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("agreements:topic_detail", args=[self.slug])


# Milestones and statements ---------------------------------------------------------------


class MilestoneQuerySet(VisibleQuerySet):
    def visibility_rule(self) -> Q:
        return (
            shared()
            & shared_or_absent("agreement")
            & shared_or_absent("topic")
            & shared_or_absent("programme")
        )

    def _not_yet_over(self, today: datetime.date) -> Q:
        # "February 2013" is still ahead on 10 February 2013; "2022" all through 2022.
        return (
            Q(precision=DatePrecision.DAY, happens_on__gte=today)
            | Q(precision=DatePrecision.MONTH, happens_on__gte=today.replace(day=1))
            | Q(precision=DatePrecision.YEAR, happens_on__gte=datetime.date(today.year, 1, 1))
        )

    def upcoming(self, today: datetime.date | None = None):
        today = today or timezone.localdate()
        return self.filter(self._not_yet_over(today)).order_by("happens_on", "title")

    def past(self, today: datetime.date | None = None):
        today = today or timezone.localdate()
        return self.exclude(self._not_yet_over(today)).order_by("-happens_on", "title")


class MilestoneKind(models.TextChoices):
    DRAFT_APPROVED = "draft_approved", _("Draft approved")
    MEETING = "meeting", _("Meeting")
    DECISION = "decision", _("Decision")
    SIGNATURE = "signature", _("Signature")
    LAUNCH = "launch", _("Launch")
    OTHER = "other", _("Other")


class Milestone(VisibleRecord):
    Kind = MilestoneKind

    title = models.CharField(_("title"), max_length=300)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.OTHER)
    happens_on = models.DateField(_("date"))
    precision = models.CharField(
        _("date precision"),
        max_length=10,
        choices=DatePrecision.choices,
        default=DatePrecision.DAY,
        help_text=_("How precisely the date is known: a month is stored as its first day."),
    )
    description = models.TextField(_("description"), blank=True)
    agreement = models.ForeignKey(
        Agreement,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="milestones",
        verbose_name=_("agreement"),
    )
    topic = models.ForeignKey(
        Topic,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="milestones",
        verbose_name=_("topic"),
    )
    programme = models.ForeignKey(
        Programme,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="milestones",
        verbose_name=_("programme"),
    )
    source = models.ForeignKey(
        Source, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("source")
    )

    objects = MilestoneQuerySet.as_manager()

    class Meta:
        ordering = ["happens_on", "title"]
        verbose_name = _("milestone")
        verbose_name_plural = _("milestones")
        constraints = [
            visibility_constraint("milestone"),
            models.CheckConstraint(
                condition=Q(kind__in=MilestoneKind.values), name="milestone_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(precision__in=DatePrecision.values),
                name="milestone_precision_valid",
            ),
        ]
        indexes = [
            # The dashboard and digests ask for the next milestones by date.
            models.Index(fields=["happens_on"], name="milestone_happens_on"),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        check_date_precision(self.happens_on, self.precision, "happens_on")

    @property
    def happens_by(self) -> datetime.date:
        return date_precision_end(self.happens_on, self.precision)


class StatementQuerySet(VisibleQuerySet):
    def visibility_rule(self) -> Q:
        return (
            shared()
            & shared("person__")
            & shared_or_absent("agreement")
            & shared_or_absent("topic")
        )


class Statement(VisibleRecord):
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="statements", verbose_name=_("speaker")
    )
    said_on = models.DateField(_("said on"))
    summary = models.TextField(
        _("what was said"), help_text=_("In our own words, unless quoting is essential.")
    )
    source = models.ForeignKey(
        Source,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="statements",
        verbose_name=_("source"),
    )
    agreement = models.ForeignKey(
        Agreement,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="statements",
        verbose_name=_("agreement"),
    )
    topic = models.ForeignKey(
        Topic,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="statements",
        verbose_name=_("topic"),
    )

    objects = StatementQuerySet.as_manager()

    class Meta:
        ordering = ["-said_on", "-id"]
        verbose_name = _("statement")
        verbose_name_plural = _("statements")
        constraints = [visibility_constraint("statement")]
        indexes = [models.Index(fields=["-said_on"], name="statement_said_on")]

    def __str__(self) -> str:
        return f"{self.person}, {self.said_on:%Y-%m-%d}"


# The history ------------------------------------------------------------------------------


class HistoryIsAppendOnly(Exception):
    """Raised on any attempt to edit or delete a StatusChange."""


class StatusChangeQuerySet(VisibleQuerySet):
    def visibility_rule(self) -> Q:
        """Changes whose subject (and the subject's parent) the user may see."""
        return (
            shared_or_absent("agreement")
            & (Q(clause__isnull=True) | (shared("clause__") & shared("clause__agreement__")))
            & shared_or_absent("topic")
            & (
                Q(funding_source__isnull=True)
                | (shared("funding_source__") & shared("funding_source__programme__"))
            )
        )

    def for_agreement(self, agreement: Agreement):
        # A subquery on the agreement's clauses rather than a join: the OR across a join
        # read the whole history table; this uses the clause foreign-key index.
        clauses = Clause.objects.filter(agreement=agreement).values("pk")
        return self.filter(Q(agreement=agreement) | Q(clause__in=clauses))

    def with_subjects(self):
        return self.select_related(
            "agreement",
            "clause__agreement",
            "topic",
            "funding_source__programme",
            "recorded_by",
            "source",
        )

    def newest_first(self):
        return self.order_by("-effective_on", "-recorded_at", "-id")

    def update(self, **kwargs):
        raise HistoryIsAppendOnly("status changes cannot be edited")

    def delete(self):
        raise HistoryIsAppendOnly("status changes cannot be deleted")

    def _raw_delete(self, using):
        raise HistoryIsAppendOnly("status changes cannot be deleted")


class ChangeKind(models.TextChoices):
    AGREEMENT = "agreement", _("Agreement")
    CLAUSE = "clause", _("Clause")
    TOPIC = "topic", _("Topic")
    FUNDING_SOURCE = "funding_source", _("Funding source")


class StatusChange(models.Model):
    """One status change of one record: append-only, the source of every history view.

    The subject is one of four explicit foreign keys rather than a generic relation, so
    that the database can PROTECT a record with history from deletion and the visibility
    rule can join to the subject's own visibility.
    """

    Kind = ChangeKind

    kind = models.CharField(_("kind of record"), max_length=20, choices=Kind.choices)
    agreement = models.ForeignKey(
        Agreement,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="status_changes",
        verbose_name=_("agreement"),
    )
    clause = models.ForeignKey(
        Clause,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="status_changes",
        verbose_name=_("clause"),
    )
    topic = models.ForeignKey(
        Topic,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="status_changes",
        verbose_name=_("topic"),
    )
    funding_source = models.ForeignKey(
        FundingSource,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="status_changes",
        verbose_name=_("funding source"),
    )
    from_status = models.CharField(
        _("from"), max_length=20, blank=True, help_text=_("Empty when the record was created.")
    )
    to_status = models.CharField(_("to"), max_length=20)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="recorded_status_changes",
        verbose_name=_("recorded by"),
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    effective_on = models.DateField(_("effective on"))
    note = models.TextField(_("note"), blank=True)
    source = models.ForeignKey(
        Source,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="status_changes",
        verbose_name=_("source"),
    )

    objects = StatusChangeQuerySet.as_manager()

    class Meta:
        ordering = ["-effective_on", "-recorded_at", "-id"]
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")
        constraints = [
            # Exactly one subject, and it matches the kind.
            models.CheckConstraint(
                condition=(
                    Q(
                        kind="agreement",
                        agreement__isnull=False,
                        clause__isnull=True,
                        topic__isnull=True,
                        funding_source__isnull=True,
                    )
                    | Q(
                        kind="clause",
                        agreement__isnull=True,
                        clause__isnull=False,
                        topic__isnull=True,
                        funding_source__isnull=True,
                    )
                    | Q(
                        kind="topic",
                        agreement__isnull=True,
                        clause__isnull=True,
                        topic__isnull=False,
                        funding_source__isnull=True,
                    )
                    | Q(
                        kind="funding_source",
                        agreement__isnull=True,
                        clause__isnull=True,
                        topic__isnull=True,
                        funding_source__isnull=False,
                    )
                ),
                name="statuschange_one_subject",
            ),
            models.CheckConstraint(
                condition=~Q(from_status=models.F("to_status")),
                name="statuschange_changes_something",
            ),
        ]
        indexes = [
            # The timeline, "what changed since" and feeds read newest first.
            models.Index(
                fields=["-effective_on", "-recorded_at", "-id"], name="statuschange_newest"
            ),
            # Digests look for changes recorded since a subscription started.
            models.Index(fields=["recorded_at"], name="statuschange_recorded_at"),
        ]

    def __str__(self) -> str:
        return f"{self.subject}: {self.from_label or '—'} → {self.to_label}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise HistoryIsAppendOnly("status changes cannot be edited")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise HistoryIsAppendOnly("status changes cannot be deleted")

    @property
    def subject(self) -> Agreement | Clause | Topic | FundingSource:
        return self.agreement or self.clause or self.topic or self.funding_source

    def _label(self, value: str) -> str:
        if not value:
            return ""
        status_class = type(self.subject).Status
        try:
            return str(status_class(value).label)
        except ValueError:
            return value

    @property
    def from_label(self) -> str:
        return self._label(self.from_status)

    @property
    def to_label(self) -> str:
        return self._label(self.to_status)


# Digests ------------------------------------------------------------------------------------


def new_feed_token() -> str:
    return secrets.token_urlsafe(32)


class SubscriptionFrequency(models.TextChoices):
    OFF = "off", _("Off")
    DAILY = "daily", _("Daily")
    WEEKLY = "weekly", _("Weekly")


class Subscription(models.Model):
    """Who gets which digest how often, and what they follow."""

    Frequency = SubscriptionFrequency

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="subscription",
        verbose_name=_("user"),
    )
    frequency = models.CharField(
        _("frequency"),
        max_length=10,
        choices=Frequency.choices,
        default=SubscriptionFrequency.WEEKLY,
    )
    hour = models.PositiveSmallIntegerField(
        _("hour"), default=7, help_text=_("Local hour (Europe/Paris) the digest is sent at.")
    )
    weekday = models.PositiveSmallIntegerField(
        _("weekday"), default=0, help_text=_("For weekly digests: 0 is Monday, 6 is Sunday.")
    )
    follows_everything = models.BooleanField(_("follow everything I can see"), default=True)
    agreements = models.ManyToManyField(
        Agreement, blank=True, related_name="subscriptions", verbose_name=_("agreements")
    )
    topics = models.ManyToManyField(
        Topic, blank=True, related_name="subscriptions", verbose_name=_("topics")
    )
    # The optimistic lock of the planner: a conditional update of this field claims the
    # subscription, so two senders never plan the same period.
    next_due_at = models.DateTimeField(_("next due at"), null=True, blank=True)
    feed_token = models.CharField(
        _("feed token"), max_length=64, unique=True, default=new_feed_token
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["user__username"]
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        constraints = [
            models.CheckConstraint(
                condition=Q(frequency__in=SubscriptionFrequency.values),
                name="subscription_frequency_valid",
            ),
            models.CheckConstraint(condition=Q(hour__lte=23), name="subscription_hour_valid"),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="subscription_weekday_valid"),
        ]
        indexes = [models.Index(fields=["next_due_at"], name="subscription_next_due")]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_frequency_display()})"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class DigestDelivery(models.Model):
    """One digest planned for one subscription and period, and what became of it."""

    Status = DeliveryStatus

    subscription = models.ForeignKey(
        Subscription,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("subscription"),
    )
    period_start = models.DateTimeField(_("period start"))
    period_end = models.DateTimeField(_("period end"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    message_id = models.CharField(_("Message-ID"), max_length=255, unique=True)
    recipient = models.EmailField(_("recipient"))
    # Stored with the message so that a retry sends the same message, headers included.
    unsubscribe_url = models.URLField(_("unsubscribe link"), max_length=500, blank=True)
    subject = models.CharField(_("subject"), max_length=300)
    body_text = models.TextField(_("text body"))
    body_html = models.TextField(_("HTML body"))
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    last_error = models.TextField(_("last error"), blank=True)
    planned_at = models.DateTimeField(_("planned at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        ordering = ["-period_end"]
        verbose_name = _("digest delivery")
        verbose_name_plural = _("digest deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "period_start"], name="delivery_once_per_period"
            ),
            models.CheckConstraint(
                condition=Q(status__in=DeliveryStatus.values), name="delivery_status_valid"
            ),
        ]
        indexes = [
            # The sender claims pending deliveries whose retry time has come.
            models.Index(fields=["status", "next_attempt_at"], name="delivery_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.subscription.user} {self.period_end:%Y-%m-%d} ({self.status})"


class DigestItem(models.Model):
    """The ledger: this change (or new statement) went into this subscription's digest, once
    and for all. Exactly one of `change` and `statement` is set; each is unique per
    subscription, which is what makes "exactly one digest per change" hold."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="items")
    delivery = models.ForeignKey(DigestDelivery, on_delete=models.CASCADE, related_name="items")
    change = models.ForeignKey(
        StatusChange, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    statement = models.ForeignKey(
        Statement, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("digest item")
        verbose_name_plural = _("digest items")
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "change"], name="digest_item_once_per_subscription"
            ),
            models.UniqueConstraint(
                fields=["subscription", "statement"], name="digest_statement_once_per_subscription"
            ),
            models.CheckConstraint(
                condition=(
                    Q(change__isnull=False, statement__isnull=True)
                    | Q(change__isnull=True, statement__isnull=False)
                ),
                name="digest_item_one_subject",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.delivery} · {self.change_id or self.statement_id}"


class RecordVersion(models.Model):
    """The record's version: one row whose number goes up in every transaction that changes
    the record, so that cached pages know they are out of date (agreements/record_cache.py).

    Written only by database triggers on the record's tables (migration 0007), never by the
    app: a writer the app does not know about (a bulk insert, a shell, raw SQL) bumps it too.
    """

    SINGLETON = 1

    number = models.BigIntegerField(_("number"), default=0)

    class Meta:
        verbose_name = _("record version")
        verbose_name_plural = _("record versions")

    def __str__(self) -> str:
        return str(self.number)
