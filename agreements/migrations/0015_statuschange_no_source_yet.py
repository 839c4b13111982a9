"""A status change can say it has no source yet (issue 17); funding sources and milestones
become searchable, with a GIN index each, built as migration 0006 builds the others.

The field tuples are copied from agreements/search.py's SEARCHABLE (tests/test_search.py
checks that 0006 and this migration together cover what search searches)."""

from django.db import migrations, models

CONFIG = "english"

INDEXED_FIELDS = {
    "fundingsource": ("title", "condition"),
    "milestone": ("title", "description"),
}


def search_index(model_name: str):
    from django.contrib.postgres.indexes import GinIndex
    from django.contrib.postgres.search import SearchVector

    fields = INDEXED_FIELDS[model_name]
    return GinIndex(SearchVector(*fields, config=CONFIG), name=f"agreements_{model_name}_search")


def add_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for model_name in INDEXED_FIELDS:
        schema_editor.add_index(apps.get_model("agreements", model_name), search_index(model_name))


def remove_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for model_name in INDEXED_FIELDS:
        model = apps.get_model("agreements", model_name)
        schema_editor.remove_index(model, search_index(model_name))


class Migration(migrations.Migration):
    dependencies = [
        ("agreements", "0012_audit_trail_append_only"),
    ]

    operations = [
        migrations.AddField(
            model_name="statuschange",
            name="no_source_yet",
            field=models.BooleanField(default=False, verbose_name="no source yet"),
        ),
        migrations.RunPython(add_indexes, remove_indexes),
    ]
