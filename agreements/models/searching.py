"""Each searchable record's full-text document, stored with the row.

Search used to parse a record's text on every query: to match rows the planner would not
find through the expression index (0006), to rank the candidates, and to sort the matches
of a common word. `search_document_field(*fields)` is a generated column holding
`to_tsvector('english', …)` over the record's own searched fields, written by PostgreSQL
whenever the row is, so matching and ranking read it instead of parsing (agreements/search.py).
Its GIN index replaces 0006's expression index (migration 0014).

Reader queries leave the column unread (`VisibleQuerySet.visible_to` defers it).
"""

from __future__ import annotations

from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.utils.translation import gettext_lazy as _

# The configuration the column is built with; agreements/search.py parses queries with the
# same one. Another needs a migration rebuilding the columns.
SEARCH_CONFIG = "english"
SEARCH_DOCUMENT = "search_document"


class StoredSearchVector(SearchVector):
    """The vector a generated column stores (its own class, named by migration 0014)."""


def search_document_field(*fields: str) -> models.GeneratedField:
    return models.GeneratedField(
        expression=StoredSearchVector(*fields, config=SEARCH_CONFIG),
        output_field=SearchVectorField(),
        db_persist=True,
        verbose_name=_("search document"),
    )
