"""The digest ledger takes clause versions and positions too (issue 11): each lands in
exactly one digest of each subscription that covers it, like a status change."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('agreements', '0016_clause_versions_and_positions'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='digestitem',
            name='digest_item_one_subject',
        ),
        migrations.AddField(
            model_name='digestitem',
            name='position',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='agreements.position'),
        ),
        migrations.AddField(
            model_name='digestitem',
            name='version',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='agreements.clauseversion'),
        ),
        migrations.AddConstraint(
            model_name='digestitem',
            constraint=models.UniqueConstraint(fields=('subscription', 'version'), name='digest_version_once_per_subscription'),
        ),
        migrations.AddConstraint(
            model_name='digestitem',
            constraint=models.UniqueConstraint(fields=('subscription', 'position'), name='digest_position_once_per_subscription'),
        ),
        migrations.AddConstraint(
            model_name='digestitem',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(models.Q(models.Q(('change__isnull', False), ('statement__isnull', True)), models.Q(('change__isnull', True), ('statement__isnull', False)), _connector='OR'), ('position__isnull', True), ('version__isnull', True)), models.Q(('change__isnull', True), ('position__isnull', True), ('statement__isnull', True), ('version__isnull', False)), models.Q(('change__isnull', True), ('position__isnull', False), ('statement__isnull', True), ('version__isnull', True)), _connector='OR'), name='digest_item_one_subject'),
        ),
    ]
