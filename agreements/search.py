"""Search across the record: agreements, clauses, topics, statements, sources, funding
sources and milestones ("juice" finds the EUR 120 million that depends on it and the 2022
launch).

PostgreSQL's full-text search (websearch syntax: words, "a phrase", -exclude, or), ranked,
with the matching words marked in an excerpt, starting from `visible_to(user)`.

On PostgreSQL each kind's own fields are parsed once, when the row is written, into its
stored `search_document` (agreements/models/searching.py, GIN-indexed): matching and
ranking read it and parse no text. Only the excerpts of the rows shown, and a statement's
speaker's name (in another table), are parsed per query. Changing SEARCH_CONFIG (or a
kind's fields) therefore needs a migration rebuilding the columns. Only RANKED_MATCHES
matches per kind are ranked, the latest edited ones: a word found in thousands of rows
costs about what a rarer one does.

Excerpts are escaped before any <mark> is added: the database marks matches with two
private-use characters that no HTML escaping touches, and only those become tags.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.postgres.search import (
    SearchHeadline,
    SearchQuery,
    SearchRank,
    SearchVector,
    SearchVectorField,
)
from django.db.models import CharField, F, Func, Q, QuerySet, Value
from django.db.models.constants import LOOKUP_SEP
from django.db.models.functions import Concat
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from exomars_site.postgresql.base import planned_each_time

from .models import (
    Agreement,
    Clause,
    ClauseVersion,
    FundingSource,
    Milestone,
    Source,
    Statement,
    Topic,
    web_link,
)
from .models.searching import SEARCH_CONFIG, SEARCH_DOCUMENT

RESULTS_PER_KIND = 20
# At most this many matches of a kind are ranked: the latest edited ones, in CANDIDATE_ORDER.
RANKED_MATCHES = 100
# No index gives this order, so PostgreSQL collects every match through the search index
# and sorts them. An order that an index gives, such as "pk", lets it walk that index
# instead, testing row after row until enough match: slow when the matches are the oldest
# rows.
CANDIDATE_ORDER = ("-updated_at", "-pk")
MARK_START = "\ue000"
MARK_STOP = "\ue001"


def search_config() -> str:
    return getattr(settings, "SEARCH_CONFIG", SEARCH_CONFIG)


@dataclass
class Hit:
    record: object
    title: str
    excerpt: SafeString
    url: str = ""


@dataclass
class Section:
    kind: str
    label: str
    hits: list[Hit] = field(default_factory=list)


@dataclass(frozen=True)
class Searchable:
    kind: str
    label: str
    fields: tuple[str, ...]
    related: tuple[str, ...] = ()
    order: tuple[str, ...] = CANDIDATE_ORDER

    def queryset(self, user) -> QuerySet:
        queryset = MODELS[self.kind].objects.visible_to(user)
        if self.kind == "versions":
            # The current text is the clause's, found among the clauses: here the earlier ones.
            queryset = queryset.exclude(text=F("clause__text"))
        return queryset.select_related(*self.related) if self.related else queryset

    @property
    def own_fields(self) -> tuple[str, ...]:
        """The fields in the kind's own table: what its stored search document holds."""
        return tuple(name for name in self.fields if LOOKUP_SEP not in name)

    @property
    def joined_fields(self) -> tuple[str, ...]:
        """Fields of a related row ("person__name"), which an index on this table cannot
        hold. They must come after the own fields (see `matching_with_joined_fields`)."""
        return tuple(name for name in self.fields if LOOKUP_SEP in name)


MODELS = {
    "agreements": Agreement,
    "clauses": Clause,
    "topics": Topic,
    "statements": Statement,
    "sources": Source,
    "versions": ClauseVersion,
    "funding": FundingSource,
    "milestones": Milestone,
}

SEARCHABLE = [
    Searchable("agreements", _("Agreements"), ("title", "summary")),
    Searchable("clauses", _("Clauses"), ("reference", "title", "text"), ("agreement",)),
    Searchable("topics", _("Topics"), ("title", "summary", "next_step")),
    Searchable(
        "statements", _("Statements"), ("summary", "person__name"), ("person", "agreement", "topic")
    ),
    Searchable("sources", _("Sources"), ("title", "publisher")),
    # After the clauses, whose current texts come first: the texts they had before.
    Searchable(
        "versions",
        _("Earlier texts of clauses"),
        ("text",),
        ("clause__agreement", "proposed_by"),
        order=("-recorded_at", "-pk"),
    ),
    Searchable("funding", _("Funding"), ("title", "condition"), ("programme",)),
    Searchable(
        "milestones", _("Milestones"), ("title", "description"), ("agreement", "topic", "programme")
    ),
]


def highlight(marked: str) -> SafeString:
    """Escape an excerpt whose matches are between MARK_START and MARK_STOP, then mark them."""
    # Safe: everything is escaped first; the only tags are the <mark> pairs added here.
    return mark_safe(escape(marked).replace(MARK_START, "<mark>").replace(MARK_STOP, "</mark>"))


SEPARATOR = " · "


def searched_text(fields: tuple[str, ...]) -> Concat:
    parts = []
    for name in fields:
        parts += [F(name), Value(SEPARATOR)]
    if len(fields) == 1:  # Concat wants two: the text and nothing
        parts[-1] = Value("")
        return Concat(*parts, output_field=CharField())
    return Concat(*parts[:-1], output_field=CharField())


def without_empty_parts(text: str) -> str:
    """ "1 ·  · text" (an empty field in the middle) reads as "1 · text"."""
    return SEPARATOR.join(part for part in text.split(SEPARATOR) if part.strip())


def every_word_of(query: str) -> list[str]:
    words = [word.strip('"').lstrip("-") for word in query.split()]
    return [word for word in words if word and word.lower() != "or"]


def document_of(fields: tuple[str, ...]):
    """The vector of `fields` as queries parse it (the stored documents use the same)."""
    return SearchVector(*fields, config=search_config())


def query_of(text: str):
    return SearchQuery(text, search_type="websearch", config=search_config())


def holding_a_word(searchable: Searchable, query: str) -> Q:
    """Rows whose related row holds a word of `query` in a joined field (a statement's
    speaker's name). Any word, even one the query excludes: this only narrows which rows
    need their whole document matched."""
    any_word = query_of(" or ".join(every_word_of(query)))
    model = MODELS[searchable.kind]
    condition = Q()
    for joined in searchable.joined_fields:
        relation, name = joined.split(LOOKUP_SEP)
        related = model._meta.get_field(relation).related_model._default_manager
        holders = related.alias(words=document_of((name,))).filter(words=any_word)
        condition |= Q(**{f"{relation}__in": holders.order_by().values("pk")})
    return condition


def stored_document_of(searchable: Searchable):
    """The kind's document for ranking: its own fields' vector as stored with the row, and
    a related row's fields (a statement's speaker's name: a few words) parsed after it."""
    if not searchable.joined_fields:
        return F(SEARCH_DOCUMENT)
    return Func(
        F(SEARCH_DOCUMENT),
        document_of(searchable.joined_fields),
        template="(%(expressions)s)",
        arg_joiner=" || ",
        output_field=SearchVectorField(),
    )


def matching(queryset: QuerySet, searchable: Searchable, query: str) -> QuerySet:
    """The rows whose document matches `query`, answered by the stored documents' index."""
    if searchable.joined_fields:
        return matching_with_joined_fields(queryset, searchable, query)
    return queryset.filter(**{SEARCH_DOCUMENT: query_of(query)})


def matching_with_joined_fields(queryset: QuerySet, searchable: Searchable, query: str):
    """Where no joined field holds a word of the query, the whole document matches exactly
    when the own fields do (they come first, so even phrases match alike), and the stored
    document answers that; only rows whose related row holds a word are matched whole.
    ("Own fields OR related" would be wrong: "mars -smith" must not find Smith's statements
    about Mars.)

    The two are asked apart, each for its latest RANKED_MATCHES only, and the rows are
    those: the latest of either are among them. As one OR, PostgreSQL could use neither
    the search index nor the recent-first one: it read every statement, joined each match
    to its speaker and subjects and sorted them all (50 ms at 100x the demo)."""
    search_query = query_of(query)
    related = holding_a_word(searchable, query)
    own = queryset.filter(**{SEARCH_DOCUMENT: search_query}).exclude(related)
    whole = (
        queryset.alias(document=document_of(searchable.fields))
        .filter(related)
        .filter(document=search_query)
    )

    def latest(rows: QuerySet) -> QuerySet:
        return rows.order_by(*searchable.order).values("pk")[:RANKED_MATCHES]

    return queryset.filter(pk__in=latest(own).union(latest(whole), all=True))


def full_text_queryset(user, searchable: Searchable, query: str) -> QuerySet:
    """PostgreSQL's search for one kind: the best matches first, with `rank` and `marked`.

    The stored documents find and rank the matches (a statement's speaker's name, in
    another table, is parsed: a few words). The excerpt is made
    for the rows shown only (PostgreSQL defers it past the LIMIT).
    """
    search_query = query_of(query)
    candidates = matching(searchable.queryset(user), searchable, query)
    candidates = candidates.order_by(*searchable.order).values("pk")[:RANKED_MATCHES]
    marked = SearchHeadline(
        searched_text(searchable.fields),
        search_query,
        config=search_config(),
        start_sel=MARK_START,
        stop_sel=MARK_STOP,
        max_words=35,
        min_words=15,
    )
    ranked = stored_document_of(searchable)
    return (
        searchable.queryset(user)
        .filter(pk__in=candidates)
        .annotate(rank=SearchRank(ranked, search_query), marked=marked)
        .order_by("-rank", "pk")
    )


def search(user, query: str) -> list[Section]:
    """What `user` may see that matches `query`, by kind; one query per kind."""
    if not every_word_of(query):
        return []
    sections = []
    with planned_each_time():  # the best plan depends on how common the words are
        for searchable in SEARCHABLE:
            queryset = full_text_queryset(user, searchable, query)
            section = Section(searchable.kind, searchable.label)
            for record in queryset[:RESULTS_PER_KIND]:
                excerpt = highlight(without_empty_parts(record.marked))
                section.hits.append(Hit(record, title_of(record), excerpt, url_of(record)))
            sections.append(section)
    return sections


def title_of(record) -> str:
    if isinstance(record, Statement):
        return record.person.name
    return str(record)


def url_of(record) -> str:
    if isinstance(record, Statement):
        about = record.agreement or record.topic
        return about.get_absolute_url() if about else ""
    if isinstance(record, Source):
        return web_link(record.url)
    return record.get_absolute_url()
