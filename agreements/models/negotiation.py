"""What is negotiated: agreements and their clauses, topics under discussion, milestones
and statements."""

from __future__ import annotations

import datetime

from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

from .base import (
    StatusQuerySet,
    StatusRecord,
    VisibleQuerySet,
    VisibleRecord,
    shared,
    shared_or_absent,
    status_constraint,
    visibility_constraint,
)
from .dates import DatePrecision, check_date_precision, date_precision_end
from .record import Party, Person, Programme, Source

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
