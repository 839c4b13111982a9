"""The status history, append-only, and the record's version that cached pages follow."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .base import VisibleQuerySet, shared, shared_or_absent
from .dates import validate_record_date
from .negotiation import Agreement, Clause, Topic
from .record import FundingSource, Source
from .subjects import clause_or_topic_shared, one_subject_constraint, subject_key


class HistoryIsAppendOnly(Exception):
    """Raised on any attempt to edit or delete a StatusChange."""


class StatusChangeQuerySet(VisibleQuerySet):
    def visibility_rule(self) -> Q:
        """Changes whose subject (and the subject's parent) the user may see."""
        return (
            shared_or_absent("agreement")
            & clause_or_topic_shared()
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
    agreement = subject_key(Agreement, related_name="status_changes", verbose_name=_("agreement"))
    clause = subject_key(Clause, related_name="status_changes", verbose_name=_("clause"))
    topic = subject_key(Topic, related_name="status_changes", verbose_name=_("topic"))
    funding_source = subject_key(
        FundingSource, related_name="status_changes", verbose_name=_("funding source")
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
    effective_on = models.DateField(_("effective on"), validators=[validate_record_date])
    note = models.TextField(_("note"), blank=True)
    source = models.ForeignKey(
        Source,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="status_changes",
        verbose_name=_("source"),
    )
    # Said out loud when a settling status (signed, secured, agreed) is recorded before
    # anyone could cite where it comes from; readers see "no source yet".
    no_source_yet = models.BooleanField(_("no source yet"), default=False)

    objects = StatusChangeQuerySet.as_manager()

    class Meta:
        ordering = ["-effective_on", "-recorded_at", "-id"]
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")
        constraints = [
            # Exactly one subject, and it matches the kind.
            one_subject_constraint(
                "statuschange_one_subject", ChangeKind.values, kind_field="kind"
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
            # A clause's or topic's latest activity, for its idle flag (models/idle.py).
            models.Index(fields=["clause", "effective_on"], name="statuschange_clause_day"),
            models.Index(fields=["topic", "effective_on"], name="statuschange_topic_day"),
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

    @property
    def author_name(self) -> str:
        """Who recorded the change, as pages, emails and feeds name them."""
        return self.recorded_by.get_full_name() or self.recorded_by.get_username()

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


class SubjectVersion(models.Model):
    """The version of one agreement, topic or programme, and of what every record page shows
    (`common`: parties, people, sources, editors' names): a record's page is cached until one
    of the versions it shows moves, so an edit to one agreement leaves the others' pages
    cached (agreements/record_cache.py).

    Written only by the same database triggers as `RecordVersion`, which say which subjects a
    row of each table belongs to (agreements/record_versions.py). A subject never written has
    no row: its version is 0.
    """

    class Kind(models.TextChoices):
        AGREEMENT = "agreement", _("agreement")
        TOPIC = "topic", _("topic")
        PROGRAMME = "programme", _("programme")
        COMMON = "common", _("every record")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    # The subject's id; 0 for `common`. Not a foreign key: a deleted record's version stays,
    # and the triggers write it without a lookup.
    subject_id = models.BigIntegerField(_("subject"))
    number = models.BigIntegerField(_("number"), default=0)

    class Meta:
        verbose_name = _("subject version")
        verbose_name_plural = _("subject versions")
        constraints = [
            # The triggers' upsert, and a page's lookup of its versions, go by this index.
            models.UniqueConstraint(fields=["kind", "subject_id"], name="subject_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject_id}: {self.number}"
