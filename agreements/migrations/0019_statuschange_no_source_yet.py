"""A status change can say it has no source yet (issue 17): a settlement recorded before its
source is found says so to readers, rather than passing for a sourced one."""

from django.db import migrations, models

class Migration(migrations.Migration):
    dependencies = [
        ("agreements", "0018_clause_version_search_document"),
    ]

    operations = [
        migrations.AddField(
            model_name="statuschange",
            name="no_source_yet",
            field=models.BooleanField(default=False, verbose_name="no source yet"),
        ),
    ]
