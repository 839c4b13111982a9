"""The record's version, bumped by the database in every transaction that changes the record.

Reader pages cache what they render under this version (agreements/record_cache.py). A
trigger on each table a reader page shows bumps it, so every writer invalidates: the app,
the admin, commands, bulk inserts, a shell, raw SQL.

The triggers are constraint triggers deferred to commit: the counter's row is locked as the
transaction's last step, after every other lock it takes, so writers never deadlock on it
and hold it for an instant; and it is bumped once per transaction.

A table added to RECORD_TABLES later needs a migration of its own;
tests/test_record_cache.py fails while a record table has no trigger.
"""

from django.db import migrations, models

# Every table a reader page reads, through tables included; not the digest ledger, the
# subscriptions or the sessions, which change without changing what readers see.
RECORD_TABLES = [
    "agreements_agreement",
    "agreements_agreement_parties",
    "agreements_clause",
    "agreements_fundingsource",
    "agreements_milestone",
    "agreements_party",
    "agreements_person",
    "agreements_programme",
    "agreements_source",
    "agreements_statement",
    "agreements_statuschange",
    "agreements_topic",
    "agreements_topic_parties",
]
# Pages show who recorded a change by name; a login (last_login) changes nothing shown.
USER_COLUMNS = "username, first_name, last_name"
TRIGGER = "agreements_record_changed"

# Once per transaction: the new number becomes visible at commit, together with everything
# the transaction wrote. (Bumping for each row would update one row thousands of times in a
# bulk insert, each update slower than the last.) The mark is transaction-local, and undone
# with the savepoint that set it. A session that reads its own writes through the cache
# before committing, as the test suite does, sets `agreements.bump_each_change` to on.
POSTGRESQL_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {TRIGGER}() RETURNS trigger AS $$
BEGIN
    IF current_setting('agreements.bump_each_change', true) IS DISTINCT FROM 'on' THEN
        IF current_setting('agreements.record_bumped', true) = 'on' THEN
            RETURN NULL;
        END IF;
        PERFORM set_config('agreements.record_bumped', 'on', true);
    END IF;
    INSERT INTO agreements_recordversion (id, number) VALUES (1, 1)
        ON CONFLICT (id) DO UPDATE SET number = agreements_recordversion.number + 1;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""
POSTGRESQL_TRIGGER = """
CREATE CONSTRAINT TRIGGER {trigger} AFTER {events} ON {table}
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {trigger}();
"""
EVENTS = ["INSERT", "UPDATE", "DELETE"]


def triggers() -> list[tuple[str, str]]:
    """(create, drop) statements for each trigger."""
    made = []
    tables = [(table, EVENTS) for table in RECORD_TABLES]
    tables.append(("auth_user", [f"UPDATE OF {USER_COLUMNS}"]))
    for table, events in tables:
        create = POSTGRESQL_TRIGGER.format(trigger=TRIGGER, events=" OR ".join(events), table=table)
        made.append((create, f"DROP TRIGGER IF EXISTS {TRIGGER} ON {table};"))
    return made


def create_triggers(apps, schema_editor):
    schema_editor.execute(POSTGRESQL_FUNCTION, params=None)
    for create, _drop in triggers():
        schema_editor.execute(create, params=None)
    apps.get_model("agreements", "RecordVersion").objects.get_or_create(pk=1)


def drop_triggers(apps, schema_editor):
    for _create, drop in triggers():
        schema_editor.execute(drop, params=None)
    schema_editor.execute(f"DROP FUNCTION IF EXISTS {TRIGGER}();", params=None)


class Migration(migrations.Migration):
    dependencies = [("agreements", "0006_search_indexes")]

    operations = [
        migrations.CreateModel(
            name="RecordVersion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("number", models.BigIntegerField(default=0, verbose_name="number")),
            ],
            options={
                "verbose_name": "record version",
                "verbose_name_plural": "record versions",
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
