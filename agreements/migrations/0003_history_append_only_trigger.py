"""The database itself refuses to edit or delete status history.

The models refuse it too, but raw SQL, a shell session or another program would not go
through them. TRUNCATE is left alone: it is what test teardown uses, and it needs
ownership of the table, which the application role does not have in production.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION agreements_statuschange_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'status history is append-only: % on agreements_statuschange refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER agreements_statuschange_append_only
    BEFORE UPDATE OR DELETE ON agreements_statuschange
    FOR EACH ROW EXECUTE FUNCTION agreements_statuschange_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS agreements_statuschange_append_only ON agreements_statuschange;
DROP FUNCTION IF EXISTS agreements_statuschange_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("agreements", "0002_roles")]

    operations = [migrations.RunSQL(CREATE, DROP)]
