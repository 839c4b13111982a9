"""Reader pages. Each view answers a whole page, or for htmx only the region it swaps.

Every read starts from `visible_to(request.user)`, and a page asks once: per-row totals
(clauses by status, funding by status, party names) are the models' chainable queryset
methods (`Agreement.objects.visible_to(user).with_clause_counts()`), columns of the rows'
own query rather than a query per row, so a page issues a fixed number of queries whatever
the number of rows. The markup is the shared components' (templatetags/components.py) and
the tables' columns are in tables.py.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce, wraps
from operator import or_

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Case, F, Q, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from . import (
    briefing,
    clock,
    dependencies,
    digests,
    events,
    exports,
    record_cache,
    redline,
    tables,
)
from . import search as record_search
from .forms import (
    IDLE_CHOICES,
    BlockedFilterForm,
    ClauseFilterForm,
    CompareForm,
    ListFilterForm,
    PositionGridForm,
    SearchForm,
    TimelineFilterForm,
)
from .models import (
    Agreement,
    Clause,
    ClauseVersion,
    FundingSource,
    Level,
    Link,
    Milestone,
    Party,
    Position,
    Programme,
    ReaderVisit,
    Statement,
    StatusChange,
    Topic,
    shown_to,
)
from .query_shapes import Shape
from .status_lines import attach_status_lines
from .subscriptions import follow_context

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
        if not record_cache.check_reader(request):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def reader_page(view: Callable) -> Callable:
    """A reader page: GET only, readers only, kept apart from its htmx fragment by caches, and
    by no shared cache at all (`private`): it shows what this reader may see."""
    return require_GET(
        cache_control(private=True)(vary_on_headers(*HTMX_HEADERS)(reader_required(view)))
    )


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


def lazy(compute: Callable[[], object]) -> SimpleLazyObject:
    """A value worked out only if the template uses it: a page part served from the cache
    (agreements/record_cache.py) costs no query."""
    return SimpleLazyObject(compute)


def milestones_and_statements(
    user, *, programme_id: int | None = None, **subject
) -> dict[str, SimpleLazyObject]:
    """The milestones and statements of an agreement or topic (`agreement=` or `topic=`);
    an agreement's milestones include its programme's (the decisions its money waits on).
    Milestones come in two lists, coming up (soonest first) and past (latest first), as
    `clock.today()` divides them."""
    about = Q(**subject)
    if programme_id is not None:
        about |= Q(programme_id=programme_id)

    both = lazy(lambda: Milestone.objects.visible_to(user).filter(about).coming_and_past())
    return {
        "milestones_coming": lazy(lambda: both[0]),
        "milestones_past": lazy(lambda: both[1]),
        "statements": lazy(
            lambda: Statement.objects.visible_to(user).filter(**subject).with_speakers()
        ),
    }


def history_of(user, **subject) -> SimpleLazyObject:
    """The whole history of a clause or topic (`clause=` or `topic=`), newest first."""

    def history() -> QuerySet:
        changes = StatusChange.objects.visible_to(user).filter(**subject)
        return changes.with_subjects().newest_first()

    return lazy(history)


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

    @staticmethod
    def window(number: str | None, per_page: int) -> tuple[int, int]:
        """The page number asked for, and the offset of its first row."""
        try:
            page = max(int(number or 1), 1)
        except (TypeError, ValueError):
            page = 1
        page = min(page, MAX_PAGE)
        return page, (page - 1) * per_page

    @classmethod
    def of(cls, queryset: QuerySet, number: str | None, per_page: int) -> WindowPage:
        page, offset = cls.window(number, per_page)
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


def in_status_order(status_class) -> Case:
    """Sort by the order a status class lists its statuses in (draft before signed)."""
    return Case(
        *(When(status=value, then=Value(index)) for index, value in enumerate(status_class)),
        default=Value(len(status_class)),
    )


SORTS = {
    "title": ["title"],
    "-title": ["-title"],
    # The last recorded change (`with_last_change()`), not the row's last edit; on the same
    # day, the one edited last.
    "updated": [F("last_change_on").desc(nulls_last=True), "-updated_at", "title"],
}


def filtered_list(queryset: QuerySet, form: ListFilterForm, status_class) -> QuerySet:
    text = form.cleaned_data["q"]
    if text:
        queryset = queryset.filter(Q(title__icontains=text) | Q(summary__icontains=text))
    if form.cleaned_data["status"]:
        queryset = queryset.filter(status__in=form.cleaned_data["status"])
    if form.cleaned_data["idle"]:
        queryset = queryset.idle()
    sort = form.cleaned_data["sort"] or "title"
    if sort == "status":
        return queryset.order_by(in_status_order(status_class), "title")
    return queryset.order_by(*SORTS[sort])


# Pages ----------------------------------------------------------------------------------


def agreements_crumb() -> tuple[str, str]:
    """The first step of the way to an agreement or a clause, for the page header."""
    return reverse("agreements:agreement_list"), _("Agreements")


def most_recently_active(rows: QuerySet, count: int) -> SimpleLazyObject:
    """The `count` most recently updated rows, and one more: it says whether to link to the
    whole list."""
    name = rows.model._meta.ordering[0]
    return lazy(lambda: list(rows.order_by("-updated_at", name)[: count + 1]))


def with_status_line(agreement: Agreement, user) -> Agreement:
    attach_status_lines([agreement], user)
    return agreement


@dataclass(frozen=True)
class Latest:
    """A line of the dashboard's "Latest changes": a status change or a new statement."""

    row: StatusChange | Statement
    day: datetime.date  # when it took effect, or was said
    recorded_at: datetime.datetime

    @property
    def is_statement(self) -> bool:
        return isinstance(self.row, Statement)


def latest_changes_and_statements(user, count: int) -> list[Latest]:
    """The `count` newest status changes and statements together, newest first: the newest
    `count` of each (one query each), merged. Statements came to the dashboard late
    (issue 17: "new statements are missing from Latest changes")."""
    changes = StatusChange.objects.visible_to(user).with_subjects().newest_first()[:count]
    statements = (
        Statement.objects.visible_to(user)
        .with_speakers()
        .order_by("-said_on", "-created_at", "-id")
    )[:count]
    lines = [Latest(change, change.effective_on, change.recorded_at) for change in changes]
    lines += [Latest(said, said.said_on, said.created_at) for said in statements]
    lines.sort(key=lambda line: (line.day, line.recorded_at), reverse=True)
    return lines[:count]


@reader_page
def dashboard(request: HttpRequest) -> HttpResponse:
    user = request.user

    def milestones():
        return Milestone.objects.visible_to(user).with_subjects()

    upcoming = lazy(lambda: list(milestones().upcoming()[:DASHBOARD_MILESTONES]))

    latest = lazy(lambda: latest_changes_and_statements(user, DASHBOARD_CHANGES))
    week_start = clock.today() - datetime.timedelta(days=6)

    def agreements() -> list[Agreement]:
        rows = (
            Agreement.objects.visible_to(user)
            .with_clause_counts()
            .with_level_counts()
            .with_last_status_change()
        )
        shown = list(rows.order_by("-updated_at", "title")[: DASHBOARD_AGREEMENTS + 1])
        attach_status_lines(shown, user)
        return dependencies.blocked_counts(user, shown)

    context = {
        # The most recently active, and one more: it says whether to link to the list.
        "agreements": lazy(agreements),
        "agreements_shown": DASHBOARD_AGREEMENTS,
        "programmes": most_recently_active(
            Programme.objects.visible_to(user).with_funding(), DASHBOARD_PROGRAMMES
        ),
        "programmes_shown": DASHBOARD_PROGRAMMES,
        "topics": most_recently_active(Topic.objects.visible_to(user), DASHBOARD_TOPICS),
        "topics_shown": DASHBOARD_TOPICS,
        "milestones": upcoming,
        # A negotiation between rounds has nothing ahead on record; show where it last stood.
        "past_milestones": lazy(
            lambda: [] if upcoming else list(milestones().past()[:DASHBOARD_MILESTONES])
        ),
        "changes": latest,
        # "What changed this week" answered at a glance: the latest changes in two groups.
        "changes_this_week": lazy(lambda: [c for c in latest if c.day >= week_start]),
        "changes_earlier": lazy(lambda: [c for c in latest if c.day < week_start]),
        "clause_statuses": Clause.Status.choices,
        "levels": Level.choices,
    }
    return render_page(request, "agreements/dashboard.html", "changes", context)


def record_list(
    request: HttpRequest,
    listing: tables.RecordList,
    rows: Callable[[], QuerySet],
    status_class,
    name: str,
) -> HttpResponse:
    """A list page: the rows the reader may see, searched, filtered by status, sorted, paged;
    or all of them as filtered, as a spreadsheet named `name` (exports.py).

    `rows` builds the list's queryset, called only when the cached list is out of date:
    building its per-row totals (a score of subqueries) took most of a cached page's time."""
    wanted = exports.requested_format(request)
    form = ListFilterForm(request.GET, statuses=status_class.choices)
    context = {"listing": listing, "form": form, "page_obj": None, "idle_choices": IDLE_CHOICES}
    template = "agreements/record_list.html"
    if not form.is_valid():
        return render_page(request, template, "results", context, status=400)
    if wanted:
        return exports.download(
            request,
            wanted,
            name=name,
            title=str(listing.title),
            columns=listing.columns,
            rows=filtered_list(rows(), form, status_class),
        )
    page = context["page_obj"] = lazy(
        lambda: paginate(request, filtered_list(rows(), form, status_class), LIST_PAGE_SIZE)
    )
    context["count"] = lazy(lambda: listing.count % {"count": page.paginator.count})
    return render_page(request, template, "results", context)


@reader_page
def agreement_list(request: HttpRequest) -> HttpResponse:
    def rows() -> QuerySet:
        return (
            Agreement.objects.visible_to(request.user)
            .with_party_names()
            .with_clause_counts()
            .with_last_change()
            .with_idle_clause_counts()
        )

    return record_list(request, tables.AGREEMENT_LIST, rows, Agreement.Status, "agreements")


# Each record page finds its record (or answers 404) in a query compiled once per process
# (query_shapes.py), with the versions of what the page shows, which key its cached parts.


def _agreement_page(reader, slug: str, user_id: int) -> QuerySet:
    # With the state of the reader's Follow button (never cached) and the versions of what
    # the page shows (its programme's funding and milestones too).
    return (
        Agreement.objects.visible_to(reader)
        .only("pk", "slug", "title", "programme_id")
        .annotate(
            cache_versions=record_cache.page_versions(agreement="pk", programme="programme_id"),
            **digests.follow_state_columns(user_id, "agreements"),
        )
        .filter(slug=slug)
    )


AGREEMENT_PAGE = Shape(_agreement_page, slug=str, user_id=int)
AGREEMENT_DETAILS = Shape(
    lambda reader, pk: (
        Agreement.objects.visible_to(reader)
        .with_party_names()
        .with_clause_counts()
        .with_level_counts()
        .with_last_status_change()
        .with_programme_funding()
        .filter(pk=pk)
    ),
    pk=int,
)


@reader_page
def agreement_detail(request: HttpRequest, slug: str) -> HttpResponse:
    user = request.user
    # Found or 404 at once; the totals only when the cached page is out of date.
    found = AGREEMENT_PAGE.get_or_404(user, slug=slug, user_id=user.pk)
    record_cache.key_by(request, found.cache_versions)
    details = lazy(lambda: with_status_line(AGREEMENT_DETAILS.get_or_404(user, pk=found.pk), user))
    programme = lazy(lambda: shown_to(details.programme, user))

    form = ClauseFilterForm(request.GET, statuses=Clause.Status.choices)
    form.is_valid()  # cannot fail: unknown statuses are dropped with a notice

    def clauses() -> QuerySet:
        shown = Clause.objects.visible_to(user).filter(agreement=found)
        if form.cleaned_data["clause_status"]:
            shown = shown.filter(status__in=form.cleaned_data["clause_status"])
        shown = shown.select_related("obligated_party").with_levels().with_idle()
        return shown.idle() if form.cleaned_data.get("idle") else shown

    wanted = exports.requested_format(request)
    if wanted:
        return exports.download(
            request,
            wanted,
            name=f"{found.slug}-clauses",
            title=str(_("Clauses")),
            columns=tables.CLAUSES,
            rows=clauses(),
        )
    latest_changes = lazy(
        lambda: list(
            StatusChange.objects.visible_to(user)
            .for_agreement(found)
            .with_subjects()
            .newest_first()[: AGREEMENT_HISTORY + 1]
        )
    )
    context = {
        "title": found.title,
        "crumbs": [agreements_crumb()],
        "agreement": details,
        "form": form,
        "idle_choices": IDLE_CHOICES,
        "clauses": lazy(clauses),
        "clause_columns": tables.CLAUSES,
        "programme": programme,
        "funding": lazy(lambda: details.programme_funding if programme else None),
        **milestones_and_statements(user, agreement=found, programme_id=found.programme_id),
        # The latest lines; the timeline, filtered to this agreement, has them all.
        "changes": lazy(lambda: latest_changes[:AGREEMENT_HISTORY]),
        "more_changes": lazy(lambda: len(latest_changes) > AGREEMENT_HISTORY),
        **follow_context(found, reverse("agreements:follow_agreement", args=[found.slug])),
        "links": lazy(lambda: dependencies.panel(user, found)),
        "path": lazy(lambda: dependencies.path_to_signature(user, found)),
    }
    return render_page(request, "agreements/agreement_detail.html", "clauses", context)


def position_grid_rows(user, agreement: Agreement, clauses: QuerySet, as_of=None):
    """The position grid of `clauses` (of `agreement`): each clause with its level and,
    as `position_<party pk>`, each negotiating party's current position (as of a day), and
    the grid's columns. Three queries, whatever the number of clauses."""
    parties = list(Party.objects.visible_to(user).filter(agreements=agreement).order_by("name"))
    rows = list(clauses.with_levels(as_of))
    positions = (
        Position.objects.visible_to(user)
        .current(as_of)
        .filter(clause__agreement=agreement, party__in=[party.pk for party in parties])
        .select_related("version", "source")
    )
    cells = {(position.clause_id, position.party_id): position for position in positions}
    for clause in rows:
        for party in parties:
            setattr(clause, f"position_{party.pk}", cells.get((clause.pk, party.pk)))
    return rows, tables.position_grid(parties)


def level_counts(rows: list) -> list[tuple[str, str, int]]:
    return [
        (level, label, sum(row.level == level for row in rows)) for level, label in Level.choices
    ]


def with_words_changed(versions: list) -> list:
    """Each version with how many words it changed from the one before (none for the first)."""
    previous = None
    for version in versions:
        version.words_changed = (
            redline.words_changed(previous.text, version.text) if previous else None
        )
        previous = version
    return versions


@dataclass
class Comparison:
    """Two versions of a clause's text and the redline between them, inline and per side."""

    old: ClauseVersion
    new: ClauseVersion
    pieces: list[redline.Piece]
    old_side: list[redline.Piece]
    new_side: list[redline.Piece]
    words_changed: int

    @classmethod
    def of(cls, old: ClauseVersion, new: ClauseVersion) -> Comparison:
        pieces = redline.redline(old.text, new.text)
        old_side, new_side = redline.sides(pieces)
        changed = redline.words_changed(old.text, new.text)
        return cls(old, new, pieces, old_side, new_side, changed)


def clause_crumbs(clause: Clause) -> list[tuple[str, str]]:
    return [agreements_crumb(), (clause.agreement.get_absolute_url(), clause.agreement.title)]


CLAUSE_PAGE = Shape(
    lambda reader, pk: (
        Clause.objects.visible_to(reader)
        .select_related("agreement", "obligated_party")
        .annotate(cache_versions=record_cache.page_versions(agreement="agreement_id"))
        .filter(pk=pk)
    ),
    pk=int,
)


@reader_page
def clause_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    clause = CLAUSE_PAGE.get_or_404(user, pk=pk)
    record_cache.key_by(request, clause.cache_versions)
    # Idle or not (agreements/models/idle.py) only when the cached page is out of date.
    idle = lazy(lambda: Clause.objects.visible_to(user).with_idle().get(pk=clause.pk))
    grid = lazy(
        lambda: position_grid_rows(
            user, clause.agreement, Clause.objects.visible_to(user).filter(pk=clause.pk)
        )
    )
    versions = lazy(
        lambda: with_words_changed(
            list(clause.versions.visible_to(user).select_related("proposed_by", "source"))
        )
    )
    context = {
        "clause": clause,
        "crumbs": clause_crumbs(clause),
        "idle": idle,
        "grid": lazy(lambda: grid[0]),
        "grid_columns": lazy(lambda: grid[1]),
        "versions": lazy(lambda: versions[::-1]),
        "version_columns": tables.VERSIONS,
        "positions": lazy(
            lambda: (
                Position.objects.visible_to(user)
                .filter(clause=clause)
                .with_details()
                .newest_first()
            )
        ),
        "position_columns": tables.POSITIONS,
        "changes": history_of(user, clause=clause),
        "links": lazy(lambda: dependencies.panel(user, clause)),
    }
    return render_page(request, "agreements/clause_detail.html", "history", context)


# The version numbers come with the clause, to check the asked ones.
CLAUSE_COMPARISON = Shape(
    lambda reader, pk: (
        Clause.objects.visible_to(reader)
        .select_related("agreement")
        .with_version_numbers()
        .annotate(cache_versions=record_cache.page_versions(agreement="agreement_id"))
        .filter(pk=pk)
    ),
    pk=int,
)


@reader_page
def clause_compare(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    # The versions' texts only when the cached comparison is out of date.
    clause = CLAUSE_COMPARISON.get_or_404(user, pk=pk)
    record_cache.key_by(request, clause.cache_versions)
    numbers = clause.version_numbers
    form = CompareForm(request.GET, numbers=numbers)
    context = {
        "clause": clause,
        "crumbs": [*clause_crumbs(clause), (clause.get_absolute_url(), str(clause))],
        "form": form,
        "numbers": numbers,
    }
    template = "agreements/clause_compare.html"
    if not form.is_valid():
        return render_page(request, template, "comparison", context, status=400)
    old, new = form.cleaned_data["old"], form.cleaned_data["new"]
    if len(numbers) > 1:

        def compare() -> Comparison:
            versions = clause.versions.visible_to(user).filter(number__in=[old, new])
            found = {version.number: version for version in versions.select_related("proposed_by")}
            return Comparison.of(found[old], found[new])

        base = f"{request.path}?from={old}&to={new}"
        context.update(
            comparison=lazy(compare),
            view=form.cleaned_data["view"],
            inline_url=base,
            side_url=f"{base}&view={CompareForm.SIDE_BY_SIDE}",
            old_number=old,
            new_number=new,
        )
    return render_page(request, template, "comparison", context)


POSITION_GRID = Shape(
    lambda reader, slug: (
        Agreement.objects.visible_to(reader)
        .only("pk", "slug", "title")
        .annotate(cache_versions=record_cache.page_versions(agreement="pk"))
        .filter(slug=slug)
    ),
    slug=str,
)


@reader_page
def position_grid(request: HttpRequest, slug: str) -> HttpResponse:
    user = request.user
    agreement = POSITION_GRID.get_or_404(user, slug=slug)
    record_cache.key_by(request, agreement.cache_versions)
    form = PositionGridForm(request.GET)
    context = {
        "agreement": agreement,
        "title": _("Positions on %(agreement)s") % {"agreement": agreement.title},
        "crumbs": [agreements_crumb(), (agreement.get_absolute_url(), agreement.title)],
        "form": form,
    }
    template = "agreements/position_grid.html"
    if not form.is_valid():
        return render_page(request, template, "grid", context, status=400)
    as_of, wanted = form.cleaned_data["as_of"], form.cleaned_data["level"]
    grid = lazy(
        lambda: position_grid_rows(
            user, agreement, Clause.objects.visible_to(user).filter(agreement=agreement), as_of
        )
    )
    export_format = exports.requested_format(request)
    if export_format:
        return exports.download(
            request,
            export_format,
            name=f"{agreement.slug}-positions" + (f"-{as_of.isoformat()}" if as_of else ""),
            title=str(_("Positions")),
            columns=lazy(lambda: grid[1]),
            rows=lazy(lambda: [row for row in grid[0] if not wanted or row.level in wanted]),
        )
    context.update(
        as_of=as_of,
        rows=lazy(lambda: [row for row in grid[0] if not wanted or row.level in wanted]),
        columns=lazy(lambda: grid[1]),
        counts=lazy(lambda: level_counts(grid[0])),
    )
    return render_page(request, template, "grid", context)


@reader_page
def topic_list(request: HttpRequest) -> HttpResponse:
    def rows() -> QuerySet:
        return (
            Topic.objects.visible_to(request.user).with_party_names().with_last_change().with_idle()
        )

    return record_list(request, tables.TOPIC_LIST, rows, Topic.Status, "topics")


TOPIC_PAGE = Shape(
    lambda reader, slug, user_id: (
        Topic.objects.visible_to(reader)
        .only("pk", "slug", "title")
        .annotate(
            cache_versions=record_cache.page_versions(topic="pk"),
            **digests.follow_state_columns(user_id, "topics"),
        )
        .filter(slug=slug)
    ),
    slug=str,
    user_id=int,
)


@reader_page
def topic_detail(request: HttpRequest, slug: str) -> HttpResponse:
    user = request.user
    visible = Topic.objects.visible_to(user)
    found = TOPIC_PAGE.get_or_404(user, slug=slug, user_id=user.pk)
    record_cache.key_by(request, found.cache_versions)
    links = lazy(lambda: dependencies.panel(user, found))
    context = {
        "title": found.title,
        "crumbs": [(reverse("agreements:topic_list"), _("Topics"))],
        **follow_context(found, reverse("agreements:follow_topic", args=[found.slug])),
        "topic": lazy(lambda: visible.with_party_names().with_idle().get(pk=found.pk)),
        **milestones_and_statements(user, topic=found),
        "positions": lazy(
            lambda: (
                Position.objects.visible_to(user).filter(topic=found).with_details().newest_first()
            )
        ),
        "position_columns": tables.TOPIC_POSITIONS,
        "changes": history_of(user, topic=found),
        "links": links,
        # The money that depends on the topic (issue 17 too): funding it holds up.
        "money": lazy(
            lambda: [row for row in links.holds_up if isinstance(row[1].record, FundingSource)]
        ),
    }
    return render_page(request, "agreements/topic_detail.html", "history", context)


# The totals come with the programme: a handful of sources, summed in its own row.
PROGRAMME_PAGE = Shape(
    lambda reader, slug: (
        Programme.objects.visible_to(reader)
        .with_funding()
        .annotate(cache_versions=record_cache.page_versions(programme="pk"))
        .filter(slug=slug)
    ),
    slug=str,
)


@reader_page
def programme_detail(request: HttpRequest, slug: str) -> HttpResponse:
    user = request.user
    programme = PROGRAMME_PAGE.get_or_404(user, slug=slug)
    record_cache.key_by(request, programme.cache_versions)

    def sources() -> QuerySet:
        # Through the programme, so that each source knows it (and its currency) unasked.
        return programme.funding_sources.visible_to(user).select_related("contributor", "source")

    wanted = exports.requested_format(request)
    if wanted:
        return exports.download(
            request,
            wanted,
            name=f"{programme.slug}-funding",
            title=str(_("Funding sources")),
            columns=tables.FUNDING_SOURCES,
            rows=sources(),
        )
    context = {
        "programme": programme,
        "funding": programme.funding,
        "sources": lazy(sources),
        "source_columns": tables.FUNDING_SOURCES,
        "agreements": lazy(lambda: Agreement.objects.visible_to(user).filter(programme=programme)),
    }
    return render_page(request, "agreements/programme_detail.html", "funding", context)


# The bookmarkable "Since my last visit": each reader's own moment, resolved on each request.
LAST_VISIT = "last-visit"


def since_last_visit(request: HttpRequest) -> HttpResponse:
    """`?since=last-visit` → the same timeline recorded since the reader's previous visit
    began (models.ReaderVisit), as a redirect: the answer's address names the moment, so
    that the page cache, keyed by address, never serves one reader's visit to another."""
    query = request.GET.copy()
    query.pop("since")
    query.pop("page", None)
    last_visit = ReaderVisit.last_visit_of(request.user)
    if last_visit is None:
        messages.info(request, _("This is your first visit: the whole timeline is new to you."))
        query.pop("recorded_since", None)
    else:
        # To the minute, rounded down: a moment in the address a reader can read.
        query["recorded_since"] = timezone.localtime(last_visit).strftime("%Y-%m-%dT%H:%M")
    return redirect(f"{request.path}?{query.urlencode()}" if query else request.path)


@reader_page
def timeline(request: HttpRequest) -> HttpResponse:
    user = request.user
    if request.GET.get("since") == LAST_VISIT:
        return since_last_visit(request)
    form = TimelineFilterForm(
        request.GET,
        agreements=Agreement.objects.visible_to(user),
        topics=Topic.objects.visible_to(user),
    )
    # "Load more" swaps only its own button for the next page's rows and the next button.
    partial = "more" if request.htmx.target == "more" else "results"
    today = clock.today()
    context = {
        "form": form,
        "page_obj": None,
        # "What changed this week": one click, as of the record's today.
        "presets": [
            (_("Last 7 days"), today - datetime.timedelta(days=6)),
            (_("Last 30 days"), today - datetime.timedelta(days=29)),
        ],
    }
    export_format = exports.requested_format(request)
    if not form.is_valid():
        return render_page(request, "agreements/timeline.html", partial, context, status=400)
    wanted = form.cleaned_data

    def matching() -> QuerySet:
        changes = StatusChange.objects.visible_to(user).with_subjects().newest_first()
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
        if wanted["recorded_since"]:
            changes = changes.filter(recorded_at__gte=wanted["recorded_since"])
        return changes

    if export_format:
        return exports.download(
            request,
            export_format,
            name="timeline",
            title=str(_("Timeline")),
            columns=tables.HISTORY_WITH_SUBJECTS,
            rows=matching(),
        )
    context["page_obj"] = lazy(
        lambda: timeline_page(user, matching(), wanted, request.GET.get("page"), TIMELINE_PAGE_SIZE)
    )
    return render_page(request, "agreements/timeline.html", partial, context)


def negotiation_events_matching(user, wanted: dict) -> tuple[QuerySet, QuerySet]:
    """The versions and positions the timeline's filters select, beside its status changes:
    an agreement's clauses' events, a topic's positions; the kind "clause" or "topic"."""
    versions = ClauseVersion.objects.visible_to(user)
    positions = Position.objects.visible_to(user)
    if wanted["agreement"]:
        versions = versions.filter(clause__agreement=wanted["agreement"])
        positions = positions.filter(clause__agreement=wanted["agreement"])
    if wanted["topic"]:
        versions = versions.none()
        positions = positions.filter(topic=wanted["topic"])
    if wanted["kind"]:
        if wanted["kind"] != StatusChange.Kind.CLAUSE:
            versions = versions.none()
        if wanted["kind"] not in (StatusChange.Kind.CLAUSE, StatusChange.Kind.TOPIC):
            positions = positions.none()
        else:
            positions = positions.filter(**{f"{wanted['kind']}__isnull": False})
    for field, day in (("gte", wanted["since"]), ("lte", wanted["until"])):
        if day:
            versions = versions.filter(**{f"proposed_on__{field}": day})
            positions = positions.filter(**{f"taken_on__{field}": day})
    if wanted["recorded_since"]:
        versions = versions.filter(recorded_at__gte=wanted["recorded_since"])
        positions = positions.filter(recorded_at__gte=wanted["recorded_since"])
    return versions, positions


def timeline_page(user, changes: QuerySet, wanted: dict, number, per_page: int) -> WindowPage:
    """One page of the timeline: status changes, new clause texts and positions, newest
    first, in one query for the page's keys and one per kind of entry on it."""

    _page, offset = WindowPage.window(number, per_page)
    enough = offset + per_page + 1

    def keys(queryset: QuerySet, entry: str, day: str) -> QuerySet:
        # Each kind's newest rows up to the end of the page, in the order an index gives
        # (statuschange_newest for the status history): the page lies within them. Sorting
        # the union whole read and joined all 200,000 changes at 100x the demo (0.5 s).
        return (
            queryset.order_by(f"-{day}", "-recorded_at", "-pk")
            .annotate(entry=Value(entry), day=F(day))
            .values_list("entry", "pk", "day", "recorded_at")[:enough]
        )

    versions, positions = negotiation_events_matching(user, wanted)
    merged = (
        keys(changes, "change", "effective_on")
        .union(
            keys(versions, "version", "proposed_on"),
            keys(positions, "position", "taken_on"),
            all=True,
        )
        .order_by("-day", "-recorded_at", "-pk")
    )
    page = WindowPage.of(merged, number, per_page)
    wanted_ids: dict[str, list[int]] = {"change": [], "version": [], "position": []}
    for entry, pk, _day, _recorded_at in page.object_list:
        wanted_ids[entry].append(pk)

    # Each kind is asked even when the page has none of it (`pk IN (0)` finds nothing), so
    # that a page costs the same queries whatever its mix of entries.
    def ids(entry: str) -> list[int]:
        return wanted_ids[entry] or [0]

    changes_on_page = StatusChange.objects.filter(pk__in=ids("change")).with_subjects()
    versions_on_page = events.versions_with_previous(
        ClauseVersion.objects.filter(pk__in=ids("version"))
    )
    positions_on_page = events.positions_with_previous(
        Position.objects.filter(pk__in=ids("position")), user
    )
    found = {("change", row.pk): row for row in changes_on_page}
    found.update({("version", row.pk): events.version_event(row, user) for row in versions_on_page})
    found.update(
        {("position", row.pk): events.position_event(row, user) for row in positions_on_page}
    )
    page.object_list = [found[(entry, pk)] for entry, pk, _day, _at in page.object_list]
    return page


@reader_page
def search(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET)
    context = {"form": form, "sections": [], "query": ""}
    if not form.is_valid():
        return render_page(request, "agreements/search.html", "results", context, status=400)
    query = context["query"] = form.cleaned_data["q"]
    sections = context["sections"] = lazy(lambda: record_search.search(request.user, query))
    context["found"] = lazy(lambda: any(section.hits for section in sections))
    return render_page(request, "agreements/search.html", "results", context)


@reader_page
def briefing_page(request: HttpRequest) -> HttpResponse:
    return render(request, "agreements/briefing.html", briefing.context(request))


def _briefing_pdf(request: HttpRequest, name: str, agreement: Agreement | None = None):
    """The briefing as an A4 PDF, drawn once per reader and version of the record: WeasyPrint
    takes a good part of a second, and a meeting's worth of readers print the same page."""
    key = ":".join(
        [
            "briefing-pdf",
            record_cache.record_key(request),
            str(request.user.pk),
            briefing.reader_name(request.user),
            request.path,
        ]
    )
    pdf = cache.get(key)
    if pdf is None:
        pdf = briefing.render_pdf(request, agreement)
        cache.set(key, pdf)
    response = HttpResponse(pdf, content_type="application/pdf")
    filename = f"{name}-{timezone.localdate().isoformat()}.pdf"
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "private"
    return response


@reader_page
def briefing_pdf(request: HttpRequest) -> HttpResponse:
    return _briefing_pdf(request, "briefing")


@reader_page
def agreement_briefing_pdf(request: HttpRequest, slug: str) -> HttpResponse:
    agreement = get_object_or_404(Agreement.objects.visible_to(request.user), slug=slug)
    return _briefing_pdf(request, f"briefing-{agreement.slug}", agreement)


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


@reader_page
def blocked(request: HttpRequest) -> HttpResponse:
    """Every record with an open blocker, filterable by the record's kind and the blocker's
    (and by agreement); one row per open blocker, paged."""
    user = request.user
    today = clock.today()
    kinds = [(side, str(label)) for side, label in dependencies.RECORD_KIND_LABELS.items()]
    form = BlockedFilterForm(request.GET, kinds=kinds)
    context = {"form": form, "kinds": kinds, "page_obj": None}
    template = "agreements/blocked.html"
    if not form.is_valid():
        return render_page(request, template, "results", context, status=400)

    def chosen(links: QuerySet) -> QuerySet:
        links = links.open_blockers(today)
        wanted = form.cleaned_data
        if wanted["kind"]:
            links = links.filter(
                reduce(or_, (Q(**{f"{side}__isnull": False}) for side in wanted["kind"]))
            )
        if wanted["by"]:
            links = links.filter(
                reduce(or_, (Q(**{f"to_{side}__isnull": False}) for side in wanted["by"]))
            )
        if wanted["agreement"]:
            slug = wanted["agreement"]
            links = links.filter(Q(agreement__slug=slug) | Q(clause__agreement__slug=slug))
        return links.order_by("linked_on", "id")

    wanted_format = exports.requested_format(request)
    if wanted_format:
        return exports.download(
            request,
            wanted_format,
            name="blocked",
            title=str(_("What is blocked")),
            columns=tables.BLOCKED,
            rows=chosen(dependencies.links_of(user, today)),
        )

    def page():
        # The open blockers' ids in one query, counted and paged here, then the page's 25
        # read with both records each. Sorting every open blocker with its ten joined
        # records cost more than showing them, and counting them apart planned and ran the
        # visibility rule twice.
        ids = list(chosen(Link.objects.visible_to(user)).values_list("id", flat=True))
        found = paginate(request, ids, LIST_PAGE_SIZE)
        links = dependencies.links_of(user, today).in_bulk(list(found))
        found.rows = [
            (link, dependencies.RecordFacts.of(link.record, today),
             dependencies.RecordFacts.of(link.other, today))
            for link in map(links.get, found) if link is not None
        ]  # fmt: skip
        return found

    context["page_obj"] = page_obj = lazy(page)
    context["count"] = lazy(
        lambda: (
            ngettext("%(count)d open blocker", "%(count)d open blockers", page_obj.paginator.count)
            % {"count": page_obj.paginator.count}
        )
    )
    return render_page(request, template, "results", context)
