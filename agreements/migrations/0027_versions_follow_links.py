"""A change reaches the pages of the records linked to it (issue 14): the versions' trigger
follows the links (agreements/record_versions.py, `agreements_linked_records`), so a page
that shows links is keyed by its own records' versions rather than by the whole record's.

A clause, a funding source and a milestone now name themselves among their subjects, so
that the links to them are followed when they change; a row that only shows on an
agreement's or a topic's page (a clause, a statement) names that page, whose links are not
followed.
"""

import importlib

from django.db import migrations

from agreements import record_versions

subject_versions = importlib.import_module("agreements.migrations.0023_subject_versions")

# The arguments of the triggers this migration changes, as they were before.
BEFORE = {
    "agreements_agreement_parties": ["agreement", "agreement_id"],
    "agreements_clause": ["agreement", "agreement_id"],
    "agreements_fundingsource": ["programme", "programme_id"],
    "agreements_milestone": [
        "agreement", "agreement_id", "topic", "topic_id", "programme", "programme_id"
    ],
    "agreements_statement": ["agreement", "agreement_id", "topic", "topic_id"],
    "agreements_topic_parties": ["topic", "topic_id"],
}


def follow_links(apps, schema_editor):
    schema_editor.execute(record_versions.LINKED_FUNCTION, params=None)
    schema_editor.execute(record_versions.SUBJECTS_OF_FUNCTION, params=None)
    record_versions.install(schema_editor, BEFORE)


def stop_following(apps, schema_editor):
    schema_editor.execute(subject_versions.SUBJECTS_OF_FUNCTION, params=None)
    schema_editor.execute(
        "DROP FUNCTION IF EXISTS agreements_linked_records(text, bigint, text);", params=None
    )
    for table, arguments in BEFORE.items():
        schema_editor.execute(record_versions.drop_trigger(table), params=None)
        schema_editor.execute(record_versions.create_trigger(table, arguments), params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("agreements", "0026_idle_flags_and_digest_items"),
    ]

    operations = [migrations.RunPython(follow_links, stop_following)]
