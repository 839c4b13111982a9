"""Who negotiates, where facts come from, and the money: parties, people, sources,
programmes and their funding sources.

A programme's funding totals are derived, never typed: `Programme.objects.visible_to(user)
.with_funding()` adds the sum of each funding status, over the sources that reader may see,
as columns of each programme's row (one query for a whole list), and `programme.funding`
reads them as a `FundingBreakdown`. An agreement carries its programme's totals the same
way (`AgreementQuerySet.with_programme_funding`). `money` writes an amount.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlsplit

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q, Sum, Value
from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext_lazy as _
from django.utils.translation import npgettext, pgettext, pgettext_lazy

from .base import (
    StatusQuerySet,
    StatusRecord,
    VisibleQuerySet,
    VisibleRecord,
    aggregate_per_row,
    shared,
    status_constraint,
    visibility_constraint,
)
from .dates import DatePrecision, check_date_precision, validate_record_date
from .searching import search_document_field

# Parties, people, sources -----------------------------------------------------------------


class PartyKind(models.TextChoices):
    AGENCY = "agency", _("Space agency")
    STATE = "state", _("State")
    COMMITTEE = "committee", _("Committee")
    OTHER = "other", _("Other")


class Party(VisibleRecord):
    Kind = PartyKind

    name = models.CharField(pgettext_lazy("thing", "name"), max_length=200)
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
    name = models.CharField(pgettext_lazy("person", "name"), max_length=200)
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


def web_link(url: str) -> str:
    """A stored address, if it is a web one, to link to; never `javascript:` or `data:`.
    The admin's form checks the scheme, but an import or a shell does not."""
    return url if url and urlsplit(url).scheme in {"http", "https"} else ""


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
    published_on = models.DateField(
        _("published on"), null=True, blank=True, validators=[validate_record_date]
    )
    url = models.URLField(_("link"), max_length=500, blank=True)
    search_document = search_document_field("title", "publisher")

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


ZERO = Decimal("0")


def money(amount: Decimal | None, currency: str = "") -> str:
    """An amount in the current language: "EUR 1,200,000,000", "1 200 000 000 EUR".

    Cents only when there are some: the record counts in millions, but an editor who types
    cents sees them.
    """
    if amount is None:
        return ""
    places = 0 if amount == amount.to_integral_value() else 2
    number = formats.number_format(amount, decimal_pos=places, use_l10n=True, force_grouping=True)
    if not currency:
        return number
    # Translators: where the currency code stands beside an amount in your language.
    return pgettext("amount of money", "%(currency)s %(amount)s") % {
        "currency": currency,
        "amount": number,
    }


MILLION = Decimal(1_000_000)
BILLION = Decimal(1_000_000_000)


def money_in_words(amount: Decimal | None, currency: str = "") -> str:
    """A round amount as people say it: "EUR 230 million", "EUR 1.2 billion"; any other
    amount as `money` writes it. For sentences; tables keep every digit."""
    if amount is None:
        return ""
    for unit, word in ((BILLION, "billion"), (MILLION, "million")):
        count = amount / unit
        # Said in words only when a tenth of the unit says it exactly.
        if amount >= unit and count == count.quantize(Decimal("0.1")):
            places = 0 if count == count.to_integral_value() else 1
            number = formats.number_format(count, decimal_pos=places, use_l10n=True)
            if word == "billion":
                # Translators: a round amount of money in billions: "EUR 1.2 billion".
                template = npgettext(
                    "amount in billions",
                    "%(currency)s %(amount)s billion",
                    "%(currency)s %(amount)s billion",
                    int(count),
                )
            else:
                # Translators: a round amount of money in millions: "EUR 230 million".
                template = npgettext(
                    "amount in millions",
                    "%(currency)s %(amount)s million",
                    "%(currency)s %(amount)s million",
                    int(count),
                )
            return (template % {"currency": currency, "amount": number}).strip()
    return money(amount, currency)


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

    @classmethod
    def from_columns(cls, programme: Programme, row) -> FundingBreakdown:
        """The totals that `funding_columns` added to `row` (the programme's or an
        agreement's), for `programme`."""
        return cls(
            currency=programme.currency,
            in_question=programme.amount_in_question,
            **{status: getattr(row, f"funding_{status}") for status in FundingStatus.values},
        )


def funding_columns(reader, programme: str = "pk") -> dict:
    """The sum of each funding status over the sources `reader` may see, as columns
    `funding_<status>` of a row whose `programme` field is the programme (its own "pk" for a
    programme's row, "programme" for an agreement's)."""
    sources = FundingSource.objects.visible_to(reader)
    nothing = Value(ZERO, output_field=models.DecimalField(max_digits=18, decimal_places=2))
    return {
        f"funding_{status}": aggregate_per_row(
            sources.filter(status=status), "programme", Sum("amount"), nothing, outer=programme
        )
        for status in FundingStatus.values
    }


class ProgrammeQuerySet(VisibleQuerySet):
    def with_funding(self):
        """Each programme's funding totals, as its reader may see them: `programme.funding`."""
        return self.annotate(**funding_columns(self.reader))


class Programme(VisibleRecord):
    name = models.CharField(pgettext_lazy("thing", "name"), max_length=200)
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

    @property
    def funding(self) -> FundingBreakdown:
        """How the amount in question is covered; the programme must come from
        `Programme.objects.visible_to(user).with_funding()`."""
        return FundingBreakdown.from_columns(self, self)


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
    search_document = search_document_field("title", "condition")
    decision_on = models.DateField(
        _("decision expected on"), null=True, blank=True, validators=[validate_record_date]
    )
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
