"""Reader pages. Each view answers a whole page, or for htmx only the region it swaps.

Every read starts from `visible_to(request.user)`. A page issues a fixed number of
queries whatever the number of rows: related rows come through select_related, and
per-row totals (clauses by status, funding by status, party names) are correlated
subqueries of the row's own query rather than a query per row.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import (
    Case,
    Count,
    DecimalField,
    OuterRef,
    Q,
    QuerySet,
    StringAgg,
    Subquery,
    Sum,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Coalesce, NullIf
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.functional import SimpleLazyObject
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from . import search as record_search
from .forms import ClauseFilterForm, ListFilterForm, SearchForm, TimelineFilterForm
from .models import (
    ZERO,
    Agreement,
    Clause,
    FundingBreakdown,
    FundingSource,
    Milestone,
    Party,
    Programme,
    Statement,
    StatusChange,
    Topic,
    can_read,
)

LIST_PAGE_SIZE = 25
TIMELINE_PAGE_SIZE = 25
DASHBOARD_CHANGES = 10
DASHBOARD_MILESTONES = 5
# A record grows to hundreds of agreements and thousands of topics; the dashboard shows
# the most recently active ones and links to the full lists.
DASHBOARD_AGREEMENTS = 15
DASHBOARD_TOPICS = 10
DASHBOARD_PROGRAMMES = 10
AGREEMENT_HISTORY = 30
# "Load more" a thousand times over is not reading; beyond this, ask the filters instead.
MAX_PAGE = 1000

# A fragment and a whole page share a URL; caches must keep them apart. A boosted or
# history-restore request also says HX-Request but wants the whole page.
HTMX_HEADERS = ("HX-Request", "HX-Boosted", "HX-History-Restore-Request")


# Helpers --------------------------------------------------------------------------------


def reader_required(view: Callable) -> Callable:
    """403 for a logged-in user in no reader group (login itself is LoginRequiredMiddleware's)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not can_read(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def template_for(request: HttpRequest, template: str, partial: str) -> str:
    """`page.html#partial` for an htmx swap, the whole page otherwise."""
    htmx = request.htmx
    if htmx and not htmx.boosted and not htmx.history_restore_request:
        return f"{template}#{partial}"
    return template


def render_page(
    request: HttpRequest, template: str, partial: str, context: dict, status: int = 200
) -> HttpResponse:
    return render(request, template_for(request, template, partial), context, status=status)


def paginate(request: HttpRequest, queryset: QuerySet, per_page: int) -> Page:
    # get_page: "abc" gives the first page, 999999 the last; never an error.
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


class WindowPage:
    """One page of a long list, without counting the list: "load more" needs only to know
    whether there is a next page, which one more row tells.

    Counting 200,000 status changes through the visibility rule took longer than showing
    them. A page number that is not a number is the first page; one past the end is an
    empty page (the template offers the way back to the newest).
    """

    def __init__(self, rows: list, number: int, per_page: int):
        self.object_list = rows[:per_page]
        self.number = number
        self._has_next = len(rows) > per_page

    @classmethod
    def of(cls, queryset: QuerySet, number: str | None, per_page: int) -> WindowPage:
        try:
            page = max(int(number or 1), 1)
        except (TypeError, ValueError):
            page = 1
        page = min(page, MAX_PAGE)
        offset = (page - 1) * per_page
        return cls(list(queryset[offset : offset + per_page + 1]), page, per_page)

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)

    def has_next(self) -> bool:
        return self._has_next

    def has_previous(self) -> bool:
        return self.number > 1

    def next_page_number(self) -> int:
        return self.number + 1


def per_row(related: QuerySet, link: str, aggregate, default, outer: str = "pk"):
    """An aggregate over each row's related rows, as a column of the row's query.

    A correlated subquery rather than a join, so that one query can carry several such
    columns (clauses by status, funding by status) without multiplying rows.
    """
    rows = related.filter(**{link: OuterRef(outer)}).order_by().values(link)
    return Coalesce(Subquery(rows.annotate(total=aggregate).values("total")), default)


def clause_counts(user) -> dict:
    clauses = Clause.objects.visible_to(user)
    return {
        f"clauses_{status}": per_row(clauses.filter(status=status), "agreement", Count("pk"), 0)
        for status in Clause.Status.values
    }


def with_clause_counts(agreement: Agreement) -> Agreement:
    agreement.clause_counts = [
        (status, label, getattr(agreement, f"clauses_{status}"))
        for status, label in Clause.Status.choices
    ]
    agreement.clause_total = sum(count for _status, _label, count in agreement.clause_counts)
    return agreement


def funding_columns(user, outer: str = "pk") -> dict:
    """The sums of Programme.funding(user), as columns of a programme's or agreement's row."""
    sources = FundingSource.objects.visible_to(user)
    money = Value(ZERO, output_field=DecimalField(max_digits=18, decimal_places=2))
    return {
        f"funding_{status}": per_row(
            sources.filter(status=status), "programme", Sum("amount"), money, outer=outer
        )
        for status in FundingSource.Status.values
    }


def funding_from_columns(programme: Programme, row) -> FundingBreakdown:
    return FundingBreakdown(
        currency=programme.currency,
        in_question=programme.amount_in_question,
        **{status: getattr(row, f"funding_{status}") for status in FundingSource.Status.values},
    )


def party_names(user, relation: str):
    """The parties `user` may see, as one "ESA, Roscosmos" column: no query of their own."""
    name = Coalesce(NullIf("short_name", Value("")), "name")
    # SQLite before 3.44 cannot order inside an aggregate; there the order is the table's.
    ordered = {"order_by": "name"} if connection.features.supports_aggregate_order_by_clause else {}
    return per_row(
        Party.objects.visible_to(user),
        relation,
        StringAgg(name, Value(", "), **ordered),
        Value("", output_field=TextField()),
    )


def in_status_order(status_class) -> Case:
    """Sort by the order a status class lists its statuses in (draft before signed)."""
    return Case(
        *(When(status=value, then=Value(index)) for index, value in enumerate(status_class)),
        default=Value(len(status_class)),
    )


SORTS = {
    "title": ["title"],
    "-title": ["-title"],
    "updated": ["-updated_at", "title"],
}


def filtered_list(queryset: QuerySet, form: ListFilterForm, status_class) -> QuerySet:
    text = form.cleaned_data["q"]
    if text:
        queryset = queryset.filter(Q(title__icontains=text) | Q(summary__icontains=text))
    if form.cleaned_data["status"]:
        queryset = queryset.filter(status__in=form.cleaned_data["status"])
    sort = form.cleaned_data["sort"] or "title"
    if sort == "status":
        return queryset.order_by(in_status_order(status_class), "title")
    return queryset.order_by(*SORTS[sort])


# Pages ----------------------------------------------------------------------------------


@require_GET
@vary_on_headers(*HTMX_HEADERS)
@reader_required
def dashboard(request: HttpRequest) -> HttpResponse:
    user = request.user
    agreements = list(
        Agreement.objects.visible_to(user)
        .annotate(**clause_counts(user))
        .order_by("-updated_at", "title")[: DASHBOARD_AGREEMENTS + 1]
    )
    topics = list(
        Topic.objects.visible_to(user).order_by("-updated_at", "title")[: DASHBOARD_TOPICS + 1]
    )
    programmes = list(
        Programme.objects.visible_to(user)
        .annotate(**funding_columns(user))
        .order_by("-updated_at", "name")[: DASHBOARD_PROGRAMMES + 1]
    )
    milestones = Milestone.objects.visible_to(user).select_related(
        "agreement", "topic", "programme"
    )
    upcoming = list(milestones.upcoming()[:DASHBOARD_MILESTONES])
    # A negotiation between rounds has nothing ahead on record; show where it last stood.
    past_milestones = [] if upcoming else list(milestones.past()[:DASHBOARD_MILESTONES])
    milestones = upcoming
    context = {
        "agreements": [
            with_clause_counts(agreement) for agreement in agreements[:DASHBOARD_AGREEMENTS]
        ],
        "more_agreements": len(agreements) > DASHBOARD_AGREEMENTS,
        "funding": [
            (programme, funding_from_columns(programme, programme))
            for programme in programmes[:DASHBOARD_PROGRAMMES]
        ],
        "more_programmes": len(programmes) > DASHBOARD_PROGRAMMES,
        "topics": topics[:DASHBOARD_TOPICS],
        "more_topics": len(topics) > DASHBOARD_TOPICS,
        "milestones": milestones,
        "past_milestones": past_milestones,
        "changes": StatusChange.objects.visible_to(user)
        .with_subjects()
        .newest_first()[:DASHBOARD_CHANGES],
        "clause_statuses": Clause.Status.choices,
    }
    return render_page(request, "agreements/dashboard.html", "changes", context)


def _list_page(request: HttpRequest, model, template: str, relation: str) -> HttpResponse:
    form = ListFilterForm(request.GET, statuses=model.Status.choices)
    context = {"form": form, "page_obj": None}
    if not form.is_valid():
        return render_page(request, template, "results", context, status=400)
    rows = model.objects.visible_to(request.user).annotate(
        party_names=party_names(request.user, relation)
    )
    if model is Agreement:
        clauses = Clause.objects.visible_to(request.user)
        rows = rows.annotate(clause_count=per_row(clauses, "agreement", Count("pk"), 0))
    context["page_obj"] = paginate(request, filtered_list(rows, form, model.Status), LIST_PAGE_SIZE)
    return render_page(request, template, "results", context)


@require_GET
@vary_on_headers(*HTMX_HEADERS)
@reader_required
def agreement_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request, Agreement, "agreements/agreement_list.html", "agreements")


@require_GET
@vary_on_headers(*HTMX_HEADERS)
@reader_required
def agreement_detail(request: HttpRequest, slug: str) -> HttpResponse:
    user = request.user
    agreement = get_object_or_404(
        Agreement.objects.visible_to(user)
        .select_related("programme")
        .annotate(
            party_names=party_names(user, "agreements"),
            **clause_counts(user),
            **funding_columns(user, outer="programme"),
        ),
        slug=slug,
    )
    with_clause_counts(agreement)
    form = ClauseFilterForm(request.GET, statuses=Clause.Status.choices)
    form.is_valid()  # cannot fail: unknown statuses are dropped with a notice
    clauses = Clause.objects.visible_to(user).filter(agreement=agreement)
    if form.cleaned_data["clause_status"]:
        clauses = clauses.filter(status__in=form.cleaned_data["clause_status"])
    programme = agreement.programme
    if programme is not None and programme.is_internal and not user.is_staff:
        programme = None
    # Lazy: the clauses fragment htmx asks for does not show the history.
    latest_changes = SimpleLazyObject(
        lambda: list(
            StatusChange.objects.visible_to(user)
            .for_agreement(agreement)
            .with_subjects()
            .newest_first()[: AGREEMENT_HISTORY + 1]
        )
    )
    context = {
        "agreement": agreement,
        "form": form,
        "clauses": clauses.select_related("obligated_party"),
        "programme": programme,
        "funding": funding_from_columns(programme, agreement) if programme else None,
        "milestones": Milestone.objects.visible_to(user).filter(agreement=agreement),
        "statements": Statement.objects.visible_to(user)
        .filter(agreement=agreement)
        .select_related("person__party", "source"),
        # The latest lines; the timeline, filtered to this agreement, has them all.
        "changes": SimpleLazyObject(lambda: latest_changes[:AGREEMENT_HISTORY]),
        "more_changes": SimpleLazyObject(lambda: len(latest_changes) > AGREEMENT_HISTORY),
    }
    return render_page(request, "agreements/agreement_detail.html", "clauses", context)


@require_GET
@vary_on_headers(*HTMX_HEADERS)
@reader_required
def clause_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    clause = get_object_or_404(
        Clause.objects.visible_to(user).select_related("agreement", "obligated_party"), pk=pk
    )
    context = {
        "clause": clause,
        "changes": StatusChange.objects.visible_to(user)
        .filter(clause=clause)
        .with_subjects()
        .newest_first(),
    }
    return render_page(request, "agreements/clause_detail.html", "history", context)


@require_GET
@vary_on_headers(*HTMX_HEADERS)
@reader_required
def topic_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request, Topic, "agreements/topic_list.html", "topics")


@require_GET
@vary_on_headers(*HTMX_HEADERS)
@reader_required
def topic_detail(request: HttpRequest, slug: str) -> HttpResponse:
    user = request.user
    topic = get_object_or_404(
        Topic.objects.visible_to(user).annotate(party_names=party_names(user, "topics")),
        slug=slug,
    )
    context = {
        "topic": topic,
        "milestones": Milestone.objects.visible_to(user).filter(topic=topic),
        "statements": Statement.objects.visible_to(user)
        .filter(topic=topic)
        .select_related("person__party", "source"),
        "changes": StatusChange.objects.visible_to(user)
        .filter(topic=topic)
        .with_subjects()
        .newest_first(),
    }
    return render_page(request, "agreements/topic_detail.html", "history", context)


@require_GET
@vary_on_headers(*HTMX_HEADERS)
@reader_required
def programme_detail(request: HttpRequest, slug: str) -> HttpResponse:
    user = request.user
    programme = get_object_or_404(Programme.objects.visible_to(user), slug=slug)
    context = {
        "programme": programme,
        "funding": programme.funding(user),
        "sources": FundingSource.objects.visible_to(user)
        .filter(programme=programme)
        .select_related("contributor", "source"),
        "agreements": Agreement.objects.visible_to(user).filter(programme=programme),
    }
    return render_page(request, "agreements/programme_detail.html", "funding", context)


@require_GET
@vary_on_headers(*HTMX_HEADERS)
@reader_required
def timeline(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = TimelineFilterForm(
        request.GET,
        agreements=Agreement.objects.visible_to(user),
        topics=Topic.objects.visible_to(user),
    )
    # "Load more" swaps only its own button for the next page's rows and the next button.
    partial = "more" if request.htmx.target == "more" else "results"
    context = {"form": form, "page_obj": None}
    if not form.is_valid():
        return render_page(request, "agreements/timeline.html", partial, context, status=400)
    changes = StatusChange.objects.visible_to(user).with_subjects().newest_first()
    wanted = form.cleaned_data
    if wanted["agreement"]:
        changes = changes.for_agreement(wanted["agreement"])
    if wanted["topic"]:
        changes = changes.filter(topic=wanted["topic"])
    if wanted["kind"]:
        changes = changes.filter(kind=wanted["kind"])
    if wanted["since"]:
        changes = changes.filter(effective_on__gte=wanted["since"])
    if wanted["until"]:
        changes = changes.filter(effective_on__lte=wanted["until"])
    context["page_obj"] = WindowPage.of(changes, request.GET.get("page"), TIMELINE_PAGE_SIZE)
    return render_page(request, "agreements/timeline.html", partial, context)


@require_GET
@vary_on_headers(*HTMX_HEADERS)
@reader_required
def search(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET)
    context = {"form": form, "sections": [], "query": ""}
    if not form.is_valid():
        return render_page(request, "agreements/search.html", "results", context, status=400)
    context["query"] = form.cleaned_data["q"]
    context["sections"] = record_search.search(request.user, context["query"])
    context["found"] = any(section.hits for section in context["sections"])
    return render_page(request, "agreements/search.html", "results", context)


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """For a load balancer: 200 when the database answers, 503 when not. Reveals nothing."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return HttpResponse("unavailable\n", status=503, content_type="text/plain")
    return HttpResponse("ok\n", content_type="text/plain")
