"""Search across the record: agreements, clauses, topics, statements, sources, funding
sources and milestones ("juice" finds the EUR 120 million that depends on it and the 2022
launch).

PostgreSQL's full-text search (websearch syntax: words, "a phrase", -exclude, or), ranked,
with the matching words marked in an excerpt, starting from `visible_to(user)`.

Each kind's match is answered by a GIN expression index (migration 0006),
which the planner uses only if the query's expression is the indexed one: the vector over
the kind's own fields, in `SEARCHABLE`'s order, with the "english" configuration. Changing
SEARCH_CONFIG (or a kind's fields) therefore needs a new migration indexing the new
expression; until then search still works, but reads and parses every row. Ranking
parses a row's text again, so only RANKED_MATCHES matches per kind are ranked: a word
found in thousands of rows costs about what a rarer one does.

Excerpts are escaped before any <mark> is added: the database marks matches with two
private-use characters that no HTML escaping touches, and only those become tags.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank, SearchVector
from django.db.models import CharField, F, Q, QuerySet, Value
from django.db.models.constants import LOOKUP_SEP
from django.db.models.functions import Concat
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from .models import (
    Agreement,
    Clause,
    FundingSource,
    Milestone,
    Source,
    Statement,
    Topic,
    web_link,
)

RESULTS_PER_KIND = 20
# Ranking parses each ranked row's text again (about 0.1 ms for a long clause), so at most
# this many matches of a kind are ranked: the latest edited ones, in CANDIDATE_ORDER.
RANKED_MATCHES = 100
# No index gives this order, so PostgreSQL collects every match through the search index
# (parsing no text) and sorts them. An order that an index gives, such as "pk", lets it
# walk that index instead, parsing row after row until enough match: 1.2 s at 20,000
# clauses when the matches are the oldest rows.
CANDIDATE_ORDER = ("-updated_at", "-pk")
MARK_START = "\ue000"
MARK_STOP = "\ue001"


def search_config() -> str:
    return getattr(settings, "SEARCH_CONFIG", "english")


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

    def queryset(self, user) -> QuerySet:
        queryset = MODELS[self.kind].objects.visible_to(user)
        return queryset.select_related(*self.related) if self.related else queryset

    @property
    def own_fields(self) -> tuple[str, ...]:
        """The fields in the kind's own table: what its GIN index (migration 0006) covers."""
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
    # Indexed by migration 0015 (the five above by 0006).
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
    return Concat(*parts[:-1], output_field=CharField())


def without_empty_parts(text: str) -> str:
    """ "1 ·  · text" (an empty field in the middle) reads as "1 · text"."""
    return SEPARATOR.join(part for part in text.split(SEPARATOR) if part.strip())


def every_word_of(query: str) -> list[str]:
    words = [word.strip('"').lstrip("-") for word in query.split()]
    return [word for word in words if word and word.lower() != "or"]


def document_of(fields: tuple[str, ...]):
    """The vector search matches on; over a kind's own fields, exactly what 0006 indexed."""
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


def matching(queryset: QuerySet, searchable: Searchable, query: str) -> QuerySet:
    """The rows whose document matches `query`, asked so that the kind's index answers."""
    if searchable.joined_fields:
        return matching_with_joined_fields(queryset, searchable, query)
    return queryset.alias(own=document_of(searchable.own_fields)).filter(own=query_of(query))


def matching_with_joined_fields(queryset: QuerySet, searchable: Searchable, query: str):
    """Where no joined field holds a word of the query, the whole document matches exactly
    when the own fields do (they come first, so even phrases match alike), and the index
    answers that, as a subquery so that no row is parsed again. Only rows whose related row
    holds a word are matched whole. ("Own fields OR related" would be wrong: "mars -smith"
    must not find Smith's statements about Mars.)"""
    search_query = query_of(query)
    own_matches = queryset.model._default_manager.alias(own=document_of(searchable.own_fields))
    own = Q(pk__in=own_matches.filter(own=search_query).values("pk"))
    related = holding_a_word(searchable, query)
    whole = queryset.alias(document=document_of(searchable.fields))
    return whole.filter((own & ~related) | (related & Q(document=search_query)))


def full_text_queryset(user, searchable: Searchable, query: str) -> QuerySet:
    """PostgreSQL's search for one kind: the best matches first, with `rank` and `marked`.

    The index finds the matches but gives no text back, and ranking a row parses its text
    again: only RANKED_MATCHES matches are ranked, or a common word would parse thousands
    of rows. The excerpt is made for the rows shown only (PostgreSQL defers it past the
    LIMIT).
    """
    search_query = query_of(query)
    candidates = matching(searchable.queryset(user), searchable, query)
    candidates = candidates.order_by(*CANDIDATE_ORDER).values("pk")[:RANKED_MATCHES]
    marked = SearchHeadline(
        searched_text(searchable.fields),
        search_query,
        config=search_config(),
        start_sel=MARK_START,
        stop_sel=MARK_STOP,
        max_words=35,
        min_words=15,
    )
    return (
        searchable.queryset(user)
        .filter(pk__in=candidates)
        .annotate(rank=SearchRank(document_of(searchable.fields), search_query), marked=marked)
        .order_by("-rank", "pk")
    )


def search(user, query: str) -> list[Section]:
    """What `user` may see that matches `query`, by kind; one query per kind."""
    if not every_word_of(query):
        return []
    sections = []
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
