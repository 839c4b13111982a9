"""Search across the record: agreements, clauses, topics, statements and sources.

PostgreSQL does full-text search (websearch syntax: words, "a phrase", -exclude, or),
ranked, with the matching words marked in an excerpt. SQLite, the try-it-out engine, gets
a plain case-insensitive match of every word. Both start from `visible_to(user)`.

Excerpts are escaped before any <mark> is added: the database marks matches with two
private-use characters that no HTML escaping touches, and only those become tags.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field
from functools import reduce
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection
from django.db.models import CharField, F, Q, QuerySet, Value
from django.db.models.functions import Concat
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from .models import Agreement, Clause, Source, Statement, Topic

RESULTS_PER_KIND = 20
MAX_WORDS = 10
EXCERPT_CHARS = 240
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


MODELS = {
    "agreements": Agreement,
    "clauses": Clause,
    "topics": Topic,
    "statements": Statement,
    "sources": Source,
}

SEARCHABLE = [
    Searchable("agreements", _("Agreements"), ("title", "summary")),
    Searchable("clauses", _("Clauses"), ("reference", "title", "text"), ("agreement",)),
    Searchable("topics", _("Topics"), ("title", "summary", "next_step")),
    Searchable(
        "statements", _("Statements"), ("summary", "person__name"), ("person", "agreement", "topic")
    ),
    Searchable("sources", _("Sources"), ("title", "publisher")),
]


def highlight(marked: str) -> SafeString:
    """Escape an excerpt whose matches are between MARK_START and MARK_STOP, then mark them."""
    # Safe: everything is escaped first; the only tags are the <mark> pairs added here.
    return mark_safe(escape(marked).replace(MARK_START, "<mark>").replace(MARK_STOP, "</mark>"))


def mark_words(text: str, words: list[str]) -> SafeString:
    """The fallback excerpt: up to EXCERPT_CHARS around the first match, matches marked."""
    text = text.replace(MARK_START, "").replace(MARK_STOP, "")
    if not words:
        return highlight(text[:EXCERPT_CHARS])
    pattern = re.compile("|".join(re.escape(word) for word in words), re.IGNORECASE)
    first = pattern.search(text)
    start = max((first.start() if first else 0) - EXCERPT_CHARS // 3, 0)
    excerpt = text[start : start + EXCERPT_CHARS]
    if start:
        excerpt = "…" + excerpt
    if start + EXCERPT_CHARS < len(text):
        excerpt += "…"
    return highlight(pattern.sub(lambda match: MARK_START + match[0] + MARK_STOP, excerpt))


SEPARATOR = " · "


def searched_text(fields: tuple[str, ...]) -> Concat:
    parts = []
    for name in fields:
        parts += [F(name), Value(SEPARATOR)]
    return Concat(*parts[:-1], output_field=CharField())


def without_empty_parts(text: str) -> str:
    """ "1 ·  · text" (an empty field in the middle) reads as "1 · text"."""
    return SEPARATOR.join(part for part in text.split(SEPARATOR) if part.strip())


def words_of(query: str) -> list[str]:
    words = [word.strip('"').lstrip("-") for word in query.split()]
    return [word for word in words if word and word.lower() != "or"][:MAX_WORDS]


def _full_text(queryset: QuerySet, searchable: Searchable, query: str) -> QuerySet:
    from django.contrib.postgres.search import (
        SearchHeadline,
        SearchQuery,
        SearchRank,
        SearchVector,
    )

    config = search_config()
    search_query = SearchQuery(query, search_type="websearch", config=config)
    vector = SearchVector(*searchable.fields, config=config)
    return (
        queryset.annotate(
            document=vector,
            rank=SearchRank(vector, search_query),
            marked=SearchHeadline(
                searched_text(searchable.fields),
                search_query,
                config=config,
                start_sel=MARK_START,
                stop_sel=MARK_STOP,
                max_words=35,
                min_words=15,
            ),
        )
        .filter(document=search_query)
        .order_by("-rank", "pk")
    )


def _contains_every_word(queryset: QuerySet, searchable: Searchable, words: list[str]):
    condition = Q()
    for word in words:
        condition &= reduce(
            operator.or_, (Q(**{f"{name}__icontains": word}) for name in searchable.fields)
        )
    return queryset.annotate(marked=searched_text(searchable.fields)).filter(condition)


def search(user, query: str) -> list[Section]:
    """What `user` may see that matches `query`, by kind; one query per kind."""
    words = words_of(query)
    if not words:
        return []
    full_text = connection.vendor == "postgresql"
    sections = []
    for searchable in SEARCHABLE:
        queryset = searchable.queryset(user)
        if full_text:
            queryset = _full_text(queryset, searchable, query)
        else:
            queryset = _contains_every_word(queryset, searchable, words)
        section = Section(searchable.kind, searchable.label)
        for record in queryset[:RESULTS_PER_KIND]:
            marked = without_empty_parts(record.marked)
            excerpt = highlight(marked) if full_text else mark_words(marked, words)
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
        # Only web links: a stored "javascript:" address must not become a link.
        return record.url if urlsplit(record.url).scheme in {"http", "https"} else ""
    return record.get_absolute_url()
