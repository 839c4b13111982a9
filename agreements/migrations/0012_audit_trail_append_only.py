"""The audit trail's event tables are append-only in the database: UPDATE, DELETE and
TRUNCATE are refused whoever connects; and no client can have its writes skip the audit
triggers (agreements/database_guards.py)."""

from django.db import migrations

from agreements.database_guards import (
    AUDIT_TABLES,
    NO_TRIGGER_SKIPPED,
    create_edit_guard,
    refuse_edits,
)


class Migration(migrations.Migration):
    dependencies = [("agreements", "0011_audit_trail")]

    operations = [
        create_edit_guard(),
        migrations.RunSQL(NO_TRIGGER_SKIPPED, migrations.RunSQL.noop),
        *(operation for table in AUDIT_TABLES for operation in refuse_edits(table)),
    ]
