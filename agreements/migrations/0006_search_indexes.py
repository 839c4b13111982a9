"""A GIN index per searchable kind, so that full-text search does not read
and parse every row.

The planner uses an expression index only when the query's expression is the same one,
so the index is built from Django's own `SearchVector` (the compiler writes the same SQL
as the search query does) over the same fields, in the same order, with the "english"
configuration. The field tuples are copied here rather than imported, because a migration
must keep meaning what it meant when it ran; they must match the fields `SEARCHABLE` in
agreements/search.py searches on the model's own table (tests/test_search.py checks).
Changing SEARCH_CONFIG or those fields needs a new migration with a new index.

Statements also search the speaker's name, which is in another table and cannot be in an
index on statements: their index covers the summary, and search.py asks the name part
separately.
"""

from django.db import migrations

CONFIG = "english"

# model name -> the fields of its own table that search.py searches, in its order.
INDEXED_FIELDS = {
    "agreement": ("title", "summary"),
    "clause": ("reference", "title", "text"),
    "topic": ("title", "summary", "next_step"),
    "statement": ("summary",),
    "source": ("title", "publisher"),
}


def index_name(model_name: str) -> str:
    return f"agreements_{model_name}_search"


def search_index(model_name: str):
    from django.contrib.postgres.indexes import GinIndex
    from django.contrib.postgres.search import SearchVector

    fields = INDEXED_FIELDS[model_name]
    return GinIndex(SearchVector(*fields, config=CONFIG), name=index_name(model_name))


def add_indexes(apps, schema_editor):
    for model_name in INDEXED_FIELDS:
        schema_editor.add_index(apps.get_model("agreements", model_name), search_index(model_name))


def remove_indexes(apps, schema_editor):
    for model_name in INDEXED_FIELDS:
        model = apps.get_model("agreements", model_name)
        schema_editor.remove_index(model, search_index(model_name))


class Migration(migrations.Migration):
    dependencies = [("agreements", "0005_digests_statement_items")]

    operations = [migrations.RunPython(add_indexes, remove_indexes)]
