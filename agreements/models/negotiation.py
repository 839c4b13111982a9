"""What is negotiated: agreements and their clauses, topics under discussion, milestones
and statements.

Per-row totals are chainable methods of each model's queryset, after `visible_to(user)`:
`Agreement.objects.visible_to(user).with_clause_counts().with_party_names()`. Each adds
columns to the rows' own query (a correlated subquery per column, `aggregate_per_row`)
counting only what that reader may see, so a page asks once whatever the number of rows.
A new total is one more such method here, named `with_<what>()`.
"""

from __future__ import annotations

import datetime
import itertools

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import (
    BooleanField,
    Count,
    DateField,
    ExpressionWrapper,
    Max,
    OuterRef,
    Q,
    StringAgg,
    Subquery,
    TextField,
    Value,
)
from django.db.models.functions import Coalesce, Greatest, NullIf, TruncDate
from django.db.models.query import ModelIterable
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

from .. import clock
from .base import (
    StatusQuerySet,
    StatusRecord,
    VisibleQuerySet,
    VisibleRecord,
    aggregate_per_row,
    shared,
    shared_or_absent,
    status_constraint,
    visibility_constraint,
)
from .dates import (
    DatePrecision,
    check_date_precision,
    date_precision_end,
    validate_record_date,
)
from .idle import IdleKind, IdleQuerySetMixin, IdleRecord
from .record import FundingBreakdown, Party, Person, Programme, Source, funding_columns
from .searching import search_document_field

# Agreements and their clauses -------------------------------------------------------------


def latest_day(rows: models.QuerySet, link: str, day: str) -> Subquery:
    """The latest `day` of each row's related `rows` (linked through `link`), as a column
    of the row's own query: one grouped subquery."""
    grouped = rows.filter(**{link: OuterRef("pk")}).order_by().values(link)
    return Subquery(grouped.annotate(latest=Max(day)).values("latest"), output_field=DateField())


def last_change_column(*latest: Subquery) -> Coalesce:
    """The latest of several `latest_day` columns (PostgreSQL's GREATEST skips NULLs), or
    the day the record was created for a record with no recorded change."""
    return Coalesce(Greatest(*latest), TruncDate("created_at"), output_field=DateField())


class PartyNamesQuerySet(StatusQuerySet):
    """For records with parties (agreements, topics)."""

    def with_party_names(self):
        """The parties the reader may see, as one "ESA, Roscosmos" column: `party_names`."""
        relation = self.model._meta.get_field("parties").related_query_name()
        name = Coalesce(NullIf("short_name", Value("")), "name")
        return self.annotate(
            party_names=aggregate_per_row(
                Party.objects.visible_to(self.reader),
                relation,
                StringAgg(name, Value(", "), order_by="name"),
                Value("", output_field=TextField()),
            )
        )


class AgreementQuerySet(PartyNamesQuerySet):
    def with_clause_counts(self):
        """The clauses the reader may see, by status (`clauses_<status>`, and
        `agreement.clause_counts` in status order) and in all (`clause_total`)."""
        clauses = Clause.objects.visible_to(self.reader)
        return self.annotate(
            **{
                f"clauses_{status}": aggregate_per_row(
                    clauses.filter(status=status), "agreement", Count("pk"), 0
                )
                for status in ClauseStatus.values
            },
            clause_total=aggregate_per_row(clauses, "agreement", Count("pk"), 0),
        )

    _idle_counts_day: datetime.date | None = None

    def _clone(self):
        clone = super()._clone()
        clone._idle_counts_day = self._idle_counts_day
        return clone

    def with_idle_clause_counts(self, today: datetime.date | None = None):
        """How many of the clauses the reader may see are idle: `idle_clauses` on each
        fetched agreement, from one grouped query over the idle clauses of all of them
        (models/idle.py). Not a column of the agreements' query: a count per agreement
        there worked the clauses' flag out again for every agreement."""
        clone = self._chain()
        clone._idle_counts_day = today or clock.today()
        return clone

    def idle(self):
        """Agreements with an idle clause: a semi-join on the idle clauses, worked out once
        for the whole list."""
        idle = Clause.objects.visible_to(self.reader).with_idle().idle()
        return self.filter(pk__in=idle.order_by().values("agreement"))

    def _attach_idle_counts(self, rows: list) -> None:
        idle = Clause.objects.visible_to(self.reader).with_idle(self._idle_counts_day).idle()
        counts = dict(
            idle.filter(agreement__in=[row.pk for row in rows])
            .order_by()
            .values("agreement")
            .annotate(count=Count("pk"))
            .values_list("agreement", "count")
        )
        for row in rows:
            row.idle_clauses = counts.get(row.pk, 0)

    def _fetch_all(self):
        fresh = self._result_cache is None
        super()._fetch_all()
        if (
            fresh
            and self._idle_counts_day is not None
            and self._result_cache
            and self._iterable_class is ModelIterable
        ):
            self._attach_idle_counts(self._result_cache)

    def iterator(self, chunk_size: int | None = None):
        rows = super().iterator(chunk_size=chunk_size)
        if self._idle_counts_day is None or self._iterable_class is not ModelIterable:
            yield from rows
            return
        while chunk := list(itertools.islice(rows, chunk_size or 2000)):
            self._attach_idle_counts(chunk)
            yield from chunk

    def with_level_counts(self, as_of: datetime.date | None = None):
        """How many of the clauses the reader may see are agreed, ad referendum, reserved,
        stale or open (as of a day): `agreement.level_counts`, in the agreement's own row."""
        from .positions import with_level_counts

        return with_level_counts(self, as_of)

    def with_last_status_change(self):
        """`last_status_on`: when the agreement's own latest status took effect (the
        history's effective date), for its status line."""
        from .history import StatusChange

        latest = (
            StatusChange.objects.filter(agreement=OuterRef("pk"))
            .order_by("-effective_on", "-recorded_at", "-id")
            .values("effective_on")[:1]
        )
        return self.annotate(last_status_on=Subquery(latest))

    def with_last_change(self):
        """`last_change_on`: the day of the agreement's last recorded change its reader may
        see: a status change of the agreement or of one of its clauses, a clause version
        or a position on a clause (by the day each took effect). What "Updated" means to a
        reader; the row's own `updated_at` moves with any edit, a typo fixed included."""
        from .history import StatusChange
        from .positions import ClauseVersion, Position

        changes = StatusChange.objects.visible_to(self.reader)
        return self.annotate(
            last_change_on=last_change_column(
                latest_day(changes, "agreement", "effective_on"),
                latest_day(changes, "clause__agreement", "effective_on"),
                latest_day(
                    ClauseVersion.objects.visible_to(self.reader),
                    "clause__agreement",
                    "proposed_on",
                ),
                latest_day(
                    Position.objects.visible_to(self.reader), "clause__agreement", "taken_on"
                ),
            )
        )

    def with_programme_funding(self):
        """The funding totals of each agreement's programme, as the reader may see them:
        `agreement.programme_funding`, in the agreement's own row."""
        return self.select_related("programme").annotate(
            **funding_columns(self.reader, programme="programme")
        )


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
    search_document = search_document_field("title", "summary")

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

    @property
    def clause_counts(self) -> list[tuple[str, str, int]]:
        """(status, label, count) in status order, from `with_clause_counts()`."""
        return [
            (status, label, getattr(self, f"clauses_{status}"))
            for status, label in ClauseStatus.choices
        ]

    @property
    def level_counts(self) -> list[tuple[str, str, int]]:
        """(level, label, count) in level order, from `with_level_counts()`."""
        from .positions import level_counts

        return level_counts(self.clause_levels)

    @property
    def programme_funding(self) -> FundingBreakdown | None:
        """From `with_programme_funding()`; None for an agreement with no programme."""
        if self.programme is None:
            return None
        return FundingBreakdown.from_columns(self.programme, self)


def open_reservations(reader, today: datetime.date, record: str) -> Q:
    """Clauses (or topics: `record`) where a party's current position, as the reader may
    see it on `today`, is a reservation."""
    from .positions import Position, Stance

    reserving = (
        Position.objects.visible_to(reader)
        .current(today)
        .filter(stance=Stance.RESERVES, **{f"{record}__isnull": False})
        .order_by()
        .values(record)
    )
    return Q(pk__in=reserving)


class ClauseQuerySet(IdleQuerySetMixin, StatusQuerySet):
    def visibility_rule(self) -> Q:
        return shared() & shared("agreement__")

    def idle_rules(self, today: datetime.date) -> list[tuple[str, Q]]:
        """An open reservation on a clause still being negotiated, then a pending one."""
        negotiated = Q(status__in=[ClauseStatus.DRAFT, ClauseStatus.PENDING])
        return [
            (
                IdleKind.RESERVATION,
                negotiated & open_reservations(self.reader, today, "clause"),
            ),
            (IdleKind.PENDING_CLAUSE, Q(status=ClauseStatus.PENDING)),
        ]

    def with_version_numbers(self):
        """The numbers of the clause's versions, in order: `clause.version_numbers`."""
        from django.contrib.postgres.aggregates import ArrayAgg

        from .positions import ClauseVersion

        return self.annotate(
            version_numbers=aggregate_per_row(
                ClauseVersion.objects.all(),
                "clause",
                ArrayAgg("number", order_by="number"),
                Value([], output_field=ArrayField(models.PositiveIntegerField())),
            )
        )

    def with_levels(self, as_of: datetime.date | None = None):
        """Each clause's agreement level as of a day (today when None): `clause.level`,
        from the positions the reader may see (agreements/models/positions.py)."""
        from .positions import with_levels

        return with_levels(self, as_of)


class TextWriteRefused(Exception):
    """Raised when a clause's text is overwritten rather than given a new version."""


class ClauseStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING = "pending", _("Pending signature")
    SIGNED = "signed", _("Signed")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Clause(IdleRecord, StatusRecord):
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
    search_document = search_document_field("reference", "title", "text")

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

    def save(self, *args, **kwargs):
        # The text is the latest version's: `services.add_clause_version` writes both.
        loaded = getattr(self, "_loaded_text", None)
        if (
            not self._state.adding
            and loaded is not None
            and self.text != loaded
            and not getattr(self, "_version_in_progress", False)
        ):
            raise TextWriteRefused(
                f"Clause {self.pk}: the text changes only by a new version "
                "(agreements.services.add_clause_version)"
            )
        super().save(*args, **kwargs)
        self._loaded_text = self.text

    @classmethod
    def from_db(cls, db, field_names, values, **kwargs):
        instance = super().from_db(db, field_names, values, **kwargs)
        instance._loaded_text = instance.__dict__.get("text")
        return instance

    @property
    def level_label(self) -> str:
        """From `with_levels()`."""
        from .positions import Level

        return Level(self.level).label


class TopicQuerySet(IdleQuerySetMixin, PartyNamesQuerySet):
    def with_last_change(self):
        """`last_change_on`: the day of the topic's last recorded change its reader may see
        (a status change or a position), as `AgreementQuerySet.with_last_change`."""
        from .history import StatusChange
        from .positions import Position

        return self.annotate(
            last_change_on=last_change_column(
                latest_day(StatusChange.objects.visible_to(self.reader), "topic", "effective_on"),
                latest_day(Position.objects.visible_to(self.reader), "topic", "taken_on"),
            )
        )

    def idle_rules(self, today: datetime.date) -> list[tuple[str, Q]]:
        """A topic still under discussion: sooner when a party holds a reservation on it."""
        undecided = Q(status__in=UNDECIDED_TOPIC_STATUSES)
        return [
            (IdleKind.RESERVATION, undecided & open_reservations(self.reader, today, "topic")),
            (IdleKind.TOPIC, undecided),
        ]


class TopicStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    IN_DISCUSSION = "in_discussion", _("In discussion")
    NO_AGREEMENT = "no_agreement", _("No agreement yet")
    AGREED = "agreed", _("Agreed")
    DROPPED = "dropped", _("Dropped")


# A topic agreed or dropped is settled: it is never idle.
UNDECIDED_TOPIC_STATUSES = [
    TopicStatus.PROPOSED,
    TopicStatus.IN_DISCUSSION,
    TopicStatus.NO_AGREEMENT,
]


class Topic(IdleRecord, StatusRecord):
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
    search_document = search_document_field("title", "summary", "next_step")

    objects = TopicQuerySet.as_manager()

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

    def with_subjects(self):
        return self.select_related("agreement", "topic", "programme")

    def coming_and_past(self, today: datetime.date | None = None):
        """(coming up, soonest first; past, latest first), in one query."""
        today = today or clock.today()
        rows = self.annotate(
            is_ahead=ExpressionWrapper(self._not_yet_over(today), output_field=BooleanField())
        ).order_by("happens_on", "title")
        rows = list(rows)
        coming = [row for row in rows if row.is_ahead]
        past = sorted(
            (row for row in rows if not row.is_ahead),
            key=lambda row: (-row.happens_on.toordinal(), row.title),
        )
        return coming, past

    def upcoming(self, today: datetime.date | None = None):
        today = today or clock.today()
        return self.filter(self._not_yet_over(today)).order_by("happens_on", "title")

    def past(self, today: datetime.date | None = None):
        today = today or clock.today()
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
    happens_on = models.DateField(_("date"), validators=[validate_record_date])
    precision = models.CharField(
        _("date precision"),
        max_length=10,
        choices=DatePrecision.choices,
        default=DatePrecision.DAY,
        help_text=_("How precisely the date is known: a month is stored as its first day."),
    )
    description = models.TextField(_("description"), blank=True)
    search_document = search_document_field("title", "description")
    done_on = models.DateField(
        _("done on"),
        null=True,
        blank=True,
        validators=[validate_record_date],
        help_text=_("When the decision was taken or the event happened, once it has."),
    )
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

    @property
    def subject(self) -> Agreement | Topic | Programme | None:
        """What the milestone belongs to; visible whenever the milestone is (its rule)."""
        return self.agreement or self.topic or self.programme

    def get_absolute_url(self) -> str:
        """A milestone has no page: its record's, or the timeline for one that stands alone."""
        subject = self.subject
        return subject.get_absolute_url() if subject else reverse("agreements:timeline")


class StatementQuerySet(VisibleQuerySet):
    def visibility_rule(self) -> Q:
        return (
            shared()
            & shared("person__")
            & shared_or_absent("agreement")
            & shared_or_absent("topic")
        )

    def with_speakers(self):
        return self.select_related("person__party", "source", "agreement", "topic")


class Statement(VisibleRecord):
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="statements", verbose_name=_("speaker")
    )
    said_on = models.DateField(_("said on"), validators=[validate_record_date])
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
    # The speaker's name is searched too, from its own table (agreements/search.py).
    search_document = search_document_field("summary")

    objects = StatementQuerySet.as_manager()

    class Meta:
        ordering = ["-said_on", "-id"]
        verbose_name = _("statement")
        verbose_name_plural = _("statements")
        constraints = [visibility_constraint("statement")]
        indexes = [
            models.Index(fields=["-said_on"], name="statement_said_on"),
            # A topic's latest activity, for its idle flag (models/idle.py).
            models.Index(fields=["topic", "said_on"], name="statement_topic_day"),
        ]

    def __str__(self) -> str:
        return f"{self.person}, {self.said_on:%Y-%m-%d}"

    @property
    def subject(self) -> Agreement | Topic | None:
        """What the statement is about; visible whenever the statement is (its rule)."""
        return self.agreement or self.topic

    def get_absolute_url(self) -> str:
        """A statement has no page: its record's, or the dashboard for one about nothing."""
        subject = self.subject
        return subject.get_absolute_url() if subject else reverse("agreements:dashboard")
