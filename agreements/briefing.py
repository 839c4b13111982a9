"""The one-page briefing: where the negotiation stands, on one sheet of A4 for a meeting.

For each agreement (the most recently active ones, as many as fit a page): its status and
parties, its clauses by status and what is still waiting (clauses pending signature, then
drafts), and its programme's funding bar and figures. Then, for all of them together: the
next milestones and the open funding decisions (overdue ones marked), the status changes
of the last 14 days, and the topics under discussion. Dated, with the reader's name, and
marked "internal" where a staff member's briefing shows records readers cannot see.

Everything comes through `visible_to(user)`, in a fixed number of queries whatever the
size of the record: per-agreement lists are cut to their first rows by a window function
in the database, not by a query per agreement.

The same content renders as an HTML page that prints well (`/briefing/`) and as a PDF
drawn server-side by WeasyPrint (`/briefing.pdf`, `/agreements/<slug>/briefing.pdf`).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.staticfiles import finders
from django.db.models import Case, F, Q, QuerySet, When, Window
from django.db.models.functions import RowNumber
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.functional import SimpleLazyObject

from . import clock
from .digests import OPEN_FUNDING_STATUSES
from .models import (
    Agreement,
    Clause,
    FundingBreakdown,
    FundingSource,
    Milestone,
    Programme,
    StatusChange,
    Topic,
    date_precision_end,
    shown_to,
)

# What fits one A4 page at the briefing's type size.
AGREEMENTS_SHOWN = 4
WAITING_CLAUSES_SHOWN = 4
DATES_SHOWN = 6
CHANGES_SHOWN = 6
TOPICS_SHOWN = 5
RECENT_DAYS = 14
STYLESHEETS = ("css/tracker.css", "css/briefing.css")


@dataclass
class AgreementBrief:
    agreement: Agreement
    programme: Programme | None
    funding: FundingBreakdown | None
    waiting: list[Clause] = field(default_factory=list)

    @property
    def waiting_total(self) -> int:
        return self.agreement.clauses_pending + self.agreement.clauses_draft

    @property
    def more_waiting(self) -> int:
        return self.waiting_total - len(self.waiting)


@dataclass(frozen=True)
class DateLine:
    """A milestone or a funding decision, as the "next dates" list shows it."""

    day: datetime.date
    precision: str
    title: str
    about: object
    is_decision: bool
    is_overdue: bool
    is_internal: bool


@dataclass
class Briefing:
    today: datetime.date
    agreements: list[AgreementBrief]
    more_agreements: int
    dates: list[DateLine]
    dates_are_ahead: bool
    changes: list[StatusChange]
    more_changes: bool
    recent_since: datetime.date
    topics: list[Topic]

    @property
    def shows_internal(self) -> bool:
        records = [brief.agreement for brief in self.agreements]
        records += [clause for brief in self.agreements for clause in brief.waiting]
        records += [brief.programme for brief in self.agreements if brief.programme]
        records += self.changes + self.topics
        return any(getattr(record, "is_internal", False) for record in records) or any(
            line.is_internal for line in self.dates
        )


def first_rows(queryset: QuerySet, partition: str, order: list, count: int) -> QuerySet:
    """The first `count` rows of each `partition`, in one query."""
    rank = Window(RowNumber(), partition_by=F(partition), order_by=order)
    return queryset.annotate(rank_in_group=rank).filter(rank_in_group__lte=count)


def reader_name(user) -> str:
    return user.get_full_name() or user.get_username()


def gather(user, *, agreement: Agreement | None = None, today=None) -> Briefing:
    today = today or clock.today()
    visible = Agreement.objects.visible_to(user)
    if agreement is not None:
        visible = visible.filter(pk=agreement.pk)
    rows = list(
        visible.with_party_names()
        .with_clause_counts()
        .with_programme_funding()
        .order_by("-updated_at", "title")[: AGREEMENTS_SHOWN + 1]
    )
    shown = rows[:AGREEMENTS_SHOWN]
    briefs = []
    for row in shown:
        programme = shown_to(row.programme, user)
        funding = row.programme_funding if programme else None
        briefs.append(AgreementBrief(agreement=row, programme=programme, funding=funding))

    by_pk = {brief.agreement.pk: brief for brief in briefs}
    unsigned = (Clause.Status.PENDING, Clause.Status.DRAFT)
    waiting = first_rows(
        Clause.objects.visible_to(user).filter(agreement__in=list(by_pk), status__in=unsigned),
        "agreement",
        # Pending signature first, then drafts.
        [Case(When(status=Clause.Status.PENDING, then=0), default=1), "position", "reference"],
        WAITING_CLAUSES_SHOWN,
    ).select_related("obligated_party")
    for clause in waiting.order_by("agreement", "rank_in_group"):
        by_pk[clause.agreement_id].waiting.append(clause)

    programme_ids = [brief.programme.pk for brief in briefs if brief.programme]
    dates, ahead = _next_dates(user, today, list(by_pk), programme_ids, whole=agreement is None)
    since = today - datetime.timedelta(days=RECENT_DAYS)
    changes = list(
        _changes(user, list(by_pk), programme_ids, whole=agreement is None)
        .filter(effective_on__gte=since)
        .with_subjects()
        .newest_first()[: CHANGES_SHOWN + 1]
    )
    topics = []
    if agreement is None:
        topics = list(
            Topic.objects.visible_to(user)
            .exclude(status__in=[Topic.Status.AGREED, Topic.Status.DROPPED])
            .order_by("-updated_at", "title")[:TOPICS_SHOWN]
        )
    return Briefing(
        today=today,
        agreements=briefs,
        more_agreements=len(rows) - len(shown),
        dates=dates,
        dates_are_ahead=ahead,
        changes=changes[:CHANGES_SHOWN],
        more_changes=len(changes) > CHANGES_SHOWN,
        recent_since=since,
        topics=topics,
    )


def _changes(user, agreement_ids: list[int], programme_ids: list[int], *, whole: bool):
    changes = StatusChange.objects.visible_to(user)
    if whole:
        return changes
    clauses = Clause.objects.filter(agreement__in=agreement_ids).values("pk")
    return changes.filter(
        Q(agreement__in=agreement_ids)
        | Q(clause__in=clauses)
        | Q(funding_source__programme__in=programme_ids)
    )


def _next_dates(
    user, today, agreement_ids: list[int], programme_ids: list[int], *, whole: bool
) -> tuple[list[DateLine], bool]:
    """The milestones ahead and the open funding decisions, soonest first; when nothing is
    ahead, the latest milestones instead, so a negotiation between rounds shows where it
    last stood (as the dashboard does)."""
    milestones = Milestone.objects.visible_to(user).select_related(
        "agreement", "topic", "programme"
    )
    if not whole:
        milestones = milestones.filter(
            Q(agreement__in=agreement_ids) | Q(programme__in=programme_ids)
        )
    ahead = list(milestones.upcoming(today)[:DATES_SHOWN])
    decisions = list(
        FundingSource.objects.visible_to(user)
        .filter(status__in=OPEN_FUNDING_STATUSES, decision_on__isnull=False)
        .filter(**({} if whole else {"programme__in": programme_ids}))
        .select_related("programme")
        .order_by("decision_on", "title")[:DATES_SHOWN]
    )
    lines = [
        DateLine(
            day=milestone.happens_on,
            precision=milestone.precision,
            title=milestone.title,
            about=milestone.subject,
            is_decision=False,
            is_overdue=False,
            is_internal=milestone.is_internal,
        )
        for milestone in ahead
    ] + [
        DateLine(
            day=funding.decision_on,
            precision=funding.decision_precision,
            title=funding.title,
            about=funding.programme,
            is_decision=True,
            is_overdue=date_precision_end(funding.decision_on, funding.decision_precision) < today,
            is_internal=funding.is_internal,
        )
        for funding in decisions
    ]
    if not ahead:
        lines += [
            DateLine(
                day=milestone.happens_on,
                precision=milestone.precision,
                title=milestone.title,
                about=milestone.subject,
                is_decision=False,
                is_overdue=False,
                is_internal=milestone.is_internal,
            )
            for milestone in milestones.past(today)[: DATES_SHOWN - len(lines)]
        ]
    lines.sort(key=lambda line: (line.day, line.title))
    return lines[:DATES_SHOWN], bool(ahead)


# The PDF ----------------------------------------------------------------------------------


def context(request: HttpRequest, agreement: Agreement | None = None) -> dict:
    """What the briefing's templates need; the briefing itself is gathered only if its
    cached part is out of date."""
    user = request.user
    return {
        "briefing": SimpleLazyObject(lambda: gather(user, agreement=agreement)),
        "single": agreement,
        "reader": reader_name(user),
        "today": clock.today(),
        "site_url": request.build_absolute_uri("/").rstrip("/"),
    }


def render_pdf(request: HttpRequest, agreement: Agreement | None = None) -> bytes:
    # Imported here: WeasyPrint loads Pango when imported, which only this needs.
    from weasyprint import CSS, HTML
    from weasyprint.urls import URLFetcher

    html = render_to_string(
        "agreements/briefing_pdf.html", context(request, agreement), request=request
    )
    stylesheets = [CSS(filename=finders.find(name)) for name in STYLESHEETS]
    # The stylesheets are handed over and the page has no image or font of its own:
    # WeasyPrint fetches nothing, so no address in the record can make the server call it.
    no_fetching = URLFetcher(allowed_protocols=("data",))
    document = HTML(string=html, base_url=settings.SITE_URL, url_fetcher=no_fetching)
    return document.write_pdf(stylesheets=stylesheets)
