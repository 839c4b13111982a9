"""Each subscription says which of the site's languages its digest is written in.

Existing subscriptions get the site's language (settings.LANGUAGE_CODE), the one their
digests were written in so far. The choices are a callable over settings.LANGUAGES, so
offering another language needs no migration.
"""

import agreements.models.digests
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('agreements', '0007_record_version'),
    ]

    operations = [
        migrations.AddField(
            model_name='subscription',
            name='language',
            field=models.CharField(choices=agreements.models.digests.language_choices, default=agreements.models.digests.default_language, help_text='Dates and amounts too are written as this language writes them.', max_length=10, verbose_name='language'),
        ),
    ]
