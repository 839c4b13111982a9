"""A version per agreement, topic and programme (issue 14): an edit to one agreement's clause
leaves every other agreement's pages cached.

The triggers of 0007 and 0016 keep their name and timing (deferred to commit); their
function now also bumps the version of each subject the row belongs to, which each table's
trigger names in its arguments (agreements/record_versions.py, SUBJECTS). A trigger left
without arguments (a table not in SUBJECTS) bumps every record page, as before.
"""

import importlib

from django.db import migrations, models

from agreements import record_versions

record_version = importlib.import_module("agreements.migrations.0007_record_version")

# The tables that existed here; a table added later joins in its own migration
# (`record_versions.watch`), so that this one never names a table not yet created.
TABLES = [
    "agreements_agreement",
    "agreements_agreement_parties",
    "agreements_clause",
    "agreements_clauseversion",
    "agreements_position",
    "agreements_statuschange",
    "agreements_fundingsource",
    "agreements_milestone",
    "agreements_statement",
    "agreements_topic",
    "agreements_topic_parties",
    "agreements_programme",
    "agreements_party",
    "agreements_person",
    "agreements_source",
    "auth_user",
]


# The subjects a record of `kind` belongs to, as this migration installed it (0027 follows
# links too, and names a table not created yet here).
SUBJECTS_OF_FUNCTION = """
CREATE OR REPLACE FUNCTION agreements_version_subjects(kind text, id bigint)
RETURNS TABLE (subject_kind text, subject_id bigint) AS $$
    SELECT $1, $2 WHERE $1 IN ('agreement', 'topic', 'programme') AND $2 IS NOT NULL
    UNION ALL
    SELECT 'common', 0 WHERE $1 = 'common'
    UNION ALL
    SELECT 'agreement', clause.agreement_id FROM agreements_clause AS clause
        WHERE $1 = 'clause' AND clause.id = $2
    UNION ALL
    SELECT 'programme', funding.programme_id FROM agreements_fundingsource AS funding
        WHERE $1 = 'funding_source' AND funding.id = $2
    UNION ALL
    SELECT subject.kind, subject.id
        FROM agreements_milestone AS milestone,
        LATERAL (VALUES ('agreement', milestone.agreement_id), ('topic', milestone.topic_id),
                        ('programme', milestone.programme_id)) AS subject (kind, id)
        WHERE $1 = 'milestone' AND milestone.id = $2 AND subject.id IS NOT NULL
    UNION ALL
    -- A kind this function does not know: every record page, rather than a stale one.
    SELECT 'common', 0 WHERE $1 NOT IN (
        'agreement', 'topic', 'programme', 'common', 'clause', 'funding_source', 'milestone'
    )
$$ LANGUAGE sql STABLE;
"""


def create_triggers(apps, schema_editor):
    schema_editor.execute(SUBJECTS_OF_FUNCTION, params=None)
    schema_editor.execute(record_versions.FUNCTION, params=None)
    record_versions.install(schema_editor, TABLES)


def restore_triggers(apps, schema_editor):
    """0007's function, and its triggers without arguments."""
    schema_editor.execute(record_version.POSTGRESQL_FUNCTION, params=None)
    for table in TABLES:
        events = " OR ".join(record_version.EVENTS)
        if table == "auth_user":
            events = f"UPDATE OF {record_version.USER_COLUMNS}"
        schema_editor.execute(record_versions.drop_trigger(table), params=None)
        schema_editor.execute(
            record_version.POSTGRESQL_TRIGGER.format(
                trigger=record_versions.TRIGGER, events=events, table=table
            ),
            params=None,
        )
    schema_editor.execute(
        "DROP FUNCTION IF EXISTS agreements_version_subjects(text, bigint);", params=None
    )


class Migration(migrations.Migration):
    dependencies = [
        ("agreements", "0022_digest_bottom_line_amounts"),
    ]

    operations = [
        migrations.CreateModel(
            name="SubjectVersion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("agreement", "agreement"),
                            ("topic", "topic"),
                            ("programme", "programme"),
                            ("common", "every record"),
                        ],
                        max_length=20,
                        verbose_name="kind",
                    ),
                ),
                ("subject_id", models.BigIntegerField(verbose_name="subject")),
                ("number", models.BigIntegerField(default=0, verbose_name="number")),
            ],
            options={
                "verbose_name": "subject version",
                "verbose_name_plural": "subject versions",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("kind", "subject_id"), name="subject_version_unique"
                    )
                ],
            },
        ),
        migrations.RunPython(create_triggers, restore_triggers),
    ]
