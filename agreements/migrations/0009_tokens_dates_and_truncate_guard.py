"""Hardening: hashed feed tokens, expiring unsubscribe links, cancelled digest deliveries,
dates within a sane range (a validator: no database change), and TRUNCATE refused on the
append-only history and the digest ledger.

TRUNCATE: the guard's function is created once here; `refuse_truncate(table)`
(agreements/database_guards.py) attaches it to a table in one line, as below, for any
append-only table a later migration adds.

Feed tokens: the database keeps only a SHA-256 digest of each personal feed token. Existing
tokens are hashed in place, so every feed address already handed out keeps working; the
subscriptions page can no longer show an address, only make a new one. Undoing this
migration cannot bring the tokens back: it gives every subscription a new random token,
and the addresses handed out stop working.
"""

import hashlib
import secrets

from django.db import migrations, models

import agreements.models.dates
from agreements.database_guards import create_truncate_guard, refuse_truncate

BATCH = 500


def hash_feed_tokens(apps, schema_editor):
    Subscription = apps.get_model("agreements", "Subscription")
    subscriptions = list(Subscription.objects.only("pk", "feed_token"))
    for subscription in subscriptions:
        subscription.feed_token_hash = hashlib.sha256(subscription.feed_token.encode()).hexdigest()
    Subscription.objects.bulk_update(subscriptions, ["feed_token_hash"], batch_size=BATCH)


def give_new_feed_tokens(apps, schema_editor):
    Subscription = apps.get_model("agreements", "Subscription")
    subscriptions = list(Subscription.objects.only("pk"))
    for subscription in subscriptions:
        subscription.feed_token = secrets.token_urlsafe(32)
    Subscription.objects.bulk_update(subscriptions, ["feed_token"], batch_size=BATCH)


class Migration(migrations.Migration):
    dependencies = [("agreements", "0008_subscription_language")]

    operations = [
        # Digest deliveries: cancelled when the recipient may no longer read them.
        migrations.RemoveConstraint(model_name="digestdelivery", name="delivery_status_valid"),
        migrations.AlterField(
            model_name="digestdelivery",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "Pending"),
                    ("sending", "Sending"),
                    ("sent", "Sent"),
                    ("failed", "Failed"),
                    ("cancelled", "Cancelled"),
                ],
                default="pending",
                max_length=10,
                verbose_name="status",
            ),
        ),
        migrations.AddConstraint(
            model_name="digestdelivery",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("status__in", ["pending", "sending", "sent", "failed", "cancelled"])
                ),
                name="delivery_status_valid",
            ),
        ),
        # Feed tokens: kept as digests. The plain column loses its default and uniqueness
        # first, so that undoing can re-add it empty and fill it before making it unique.
        migrations.AddField(
            model_name="subscription",
            name="feed_token_hash",
            field=models.CharField(
                blank=True,
                editable=False,
                max_length=64,
                null=True,
                unique=True,
                verbose_name="feed token digest",
            ),
        ),
        migrations.AlterField(
            model_name="subscription",
            name="feed_token",
            field=models.CharField(max_length=64, null=True, verbose_name="feed token"),
        ),
        migrations.RunPython(hash_feed_tokens, give_new_feed_tokens),
        migrations.RemoveField(model_name="subscription", name="feed_token"),
        # Unsubscribe links carry the generation; turning a digest back on advances it.
        migrations.AddField(
            model_name="subscription",
            name="unsubscribe_generation",
            field=models.PositiveIntegerField(
                default=0, editable=False, verbose_name="unsubscribe generation"
            ),
        ),
        # Dates editors type: between 1900 and 2200 (agreements.models.dates).
        migrations.AlterField(
            model_name="fundingsource",
            name="decision_on",
            field=models.DateField(
                blank=True, null=True, validators=[agreements.models.dates.validate_record_date],
                verbose_name="decision expected on",
            ),
        ),
        migrations.AlterField(
            model_name="milestone",
            name="happens_on",
            field=models.DateField(
                validators=[agreements.models.dates.validate_record_date],
                verbose_name="date",
            ),
        ),
        migrations.AlterField(
            model_name="source",
            name="published_on",
            field=models.DateField(
                blank=True, null=True, validators=[agreements.models.dates.validate_record_date],
                verbose_name="published on",
            ),
        ),
        migrations.AlterField(
            model_name="statement",
            name="said_on",
            field=models.DateField(
                validators=[agreements.models.dates.validate_record_date],
                verbose_name="said on",
            ),
        ),
        migrations.AlterField(
            model_name="statuschange",
            name="effective_on",
            field=models.DateField(
                validators=[agreements.models.dates.validate_record_date],
                verbose_name="effective on",
            ),
        ),
            # TRUNCATE refused: the history, and the ledger (emptied, it would send every change
        # again). A later append-only table: one more refuse_truncate("its_table") line.
        create_truncate_guard(),
        refuse_truncate("agreements_statuschange"),
        refuse_truncate("agreements_digestdelivery"),
        refuse_truncate("agreements_digestitem"),
    ]
