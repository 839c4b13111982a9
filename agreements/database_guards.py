"""What PostgreSQL itself keeps from being rewritten, whoever connects.

Two guards, both in the database so that no client skips them (the models refuse too, but
raw SQL, a shell or another program does not go through them):

- **Triggers.** The status history refuses UPDATE and DELETE (migration 0003), and so do
  the audit trail's event tables (`refuse_edits`, migration 0012). TRUNCATE,
  which no row trigger sees, is refused on the history and on the digest ledger (migration
  0009): emptying the ledger would send every change again in the next digests, and a
  `TRUNCATE agreements_statuschange CASCADE` would empty both. A table added later is
  guarded by one line in its migration::

      from agreements.database_guards import refuse_truncate

      operations = [..., refuse_truncate("agreements_position")]

  A superuser is let through: test databases are emptied with TRUNCATE, and a superuser
  could drop the trigger anyway. So can a table's owner, deliberately:
  `ALTER TABLE ... DISABLE TRIGGER agreements_refuse_truncate`.

- **Privileges.** In production the app connects as a role that owns nothing and may do
  only what `RUNTIME_PRIVILEGES` says (README, "Two database roles"); the owner, which
  migrates, gives them with `manage.py grant_runtime_privileges ROLE` after each migration.
  An append-only table added later gets one line there too (`APPEND_ONLY`).
"""

from __future__ import annotations

from django.db import connection, migrations, transaction

TRUNCATE_GUARD = "agreements_refuse_truncate"

# Created by migration 0009; `refuse_truncate` attaches it.
TRUNCATE_GUARD_FUNCTION = """
CREATE OR REPLACE FUNCTION agreements_refuse_truncate() RETURNS trigger AS $$
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% is append-only: TRUNCATE refused', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def create_truncate_guard() -> migrations.RunSQL:
    return migrations.RunSQL(
        TRUNCATE_GUARD_FUNCTION, f"DROP FUNCTION IF EXISTS {TRUNCATE_GUARD}();"
    )


def refuse_truncate(table: str) -> migrations.RunSQL:
    """A migration operation: TRUNCATE on `table` is refused (see the module's docstring)."""
    return migrations.RunSQL(
        f"CREATE TRIGGER {TRUNCATE_GUARD} BEFORE TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {TRUNCATE_GUARD}();",
        f"DROP TRIGGER IF EXISTS {TRUNCATE_GUARD} ON {table};",
    )


# Created by migration 0012; `refuse_edits` attaches it. No exception for anyone: an audit
# event is never rewritten (a table's owner can still drop the trigger, deliberately).
EDIT_GUARD = "agreements_refuse_edit"
EDIT_GUARD_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {EDIT_GUARD}() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


# pgtrigger lets a session skip a trigger by naming it in the `pgtrigger.ignore` setting,
# which any client may set: the audit trail's triggers would be skipped by a client that
# asks. The project never asks, so none is skipped. (pgtrigger writes the function again
# with each trigger a migration adds: every `migrate` puts this back (agreements/apps.py),
# and tests/test_audit_trail.py fails if it stays undone.)
NO_TRIGGER_SKIPPED = """
CREATE OR REPLACE FUNCTION _pgtrigger_should_ignore(trigger_name NAME) RETURNS BOOLEAN AS $$
BEGIN
    RETURN FALSE;
END;
$$ LANGUAGE plpgsql;
"""


def create_edit_guard() -> migrations.RunSQL:
    return migrations.RunSQL(EDIT_GUARD_FUNCTION, f"DROP FUNCTION IF EXISTS {EDIT_GUARD}();")


def refuse_edits(table: str) -> list[migrations.RunSQL]:
    """Migration operations: UPDATE, DELETE and TRUNCATE on `table` are refused."""
    return [
        migrations.RunSQL(
            f"CREATE TRIGGER {EDIT_GUARD} BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {EDIT_GUARD}();",
            f"DROP TRIGGER IF EXISTS {EDIT_GUARD} ON {table};",
        ),
        refuse_truncate(table),
    ]


# The audit trail's event tables (agreements/models/audit.py), append-only.
AUDIT_TABLES = [
    "agreements_agreementevent",
    "agreements_agreementpartiesevent",
    "agreements_clauseevent",
    "agreements_fundingsourceevent",
    "agreements_milestoneevent",
    "agreements_partyevent",
    "agreements_personevent",
    "agreements_programmeevent",
    "agreements_sourceevent",
    "agreements_statementevent",
    "agreements_topicevent",
    "agreements_topicpartiesevent",
]
# Migration 0012 guards the tables above, as they were then; an event table added later is
# guarded by its own migration, and listed here.
ALL_AUDIT_TABLES = [*AUDIT_TABLES, "agreements_linkevent"]

# The runtime role's privileges, table by table. Append-only tables: read and add rows.
APPEND_ONLY = "SELECT, INSERT"
READ_WRITE = "SELECT, INSERT, UPDATE, DELETE"
RUNTIME_PRIVILEGES = {
    "agreements_statuschange": APPEND_ONLY,
    **dict.fromkeys(ALL_AUDIT_TABLES, APPEND_ONLY),
    # The negotiation's events (migration 0013): versions of clause texts, positions.
    "agreements_clauseversion": APPEND_ONLY,
    "agreements_position": APPEND_ONLY,
    # The ledger's rows are added by planning and only ever taken back whole: when a
    # delivery is cancelled, or with their subscription. Never edited.
    "agreements_digestitem": "SELECT, INSERT, DELETE",
    # Only `migrate`, run by the owner, writes what has been migrated.
    "django_migrations": "SELECT",
}  # every other table: READ_WRITE. TRUNCATE, and changing a table, never.


def runtime_grants(role: str, tables: list[str]) -> list[str]:
    """The statements that give `role` exactly its privileges on `tables`, in the current
    schema, taking back anything granted before."""
    quote = connection.ops.quote_name
    grantee, in_schema = quote(role), quote(schema())
    statements = [
        f"GRANT USAGE ON SCHEMA {in_schema} TO {grantee}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {in_schema} FROM {grantee}",
    ]
    statements += [
        f"GRANT {RUNTIME_PRIVILEGES.get(table, READ_WRITE)} ON {quote(table)} TO {grantee}"
        for table in sorted(tables)
    ]
    # New rows take their ids from the tables' sequences.
    statements.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {in_schema} TO {grantee}")
    return statements


def schema() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        return cursor.fetchone()[0]


def grant_runtime_privileges(role: str) -> list[str]:
    """Give `role` its privileges on every table of the schema, in one transaction (the app
    never runs with half of them). Returns the statements run."""
    statements = runtime_grants(role, connection.introspection.table_names())
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    return statements
