"""The negotiation itself: clause versions and the parties' positions (issue 11).

Both tables are append-only, refused UPDATE and DELETE by a trigger like the status history
(0003) and TRUNCATE by the guard of 0009; the runtime role may only read and add rows
(agreements/database_guards.py, APPEND_ONLY). Reader pages show them, so a change bumps
the record's version like every record table (0007).

Every clause that has a text gets it as its version 1 (dated and recorded as the clause's
creation in its history), so that "the text is the latest version" holds from the start.
"""

import importlib

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import agreements.models.dates
from agreements.database_guards import refuse_edits

record_version = importlib.import_module("agreements.migrations.0007_record_version")
roles = importlib.import_module("agreements.migrations.0002_roles")
EVENT_TABLES = ["agreements_clauseversion", "agreements_position"]

def create_guards(apps, schema_editor):
    """A new version or position changes the record: cached pages are rebuilt (0007)."""
    for table in EVENT_TABLES:
        schema_editor.execute(
            record_version.POSTGRESQL_TRIGGER.format(
                trigger=record_version.TRIGGER,
                events=" OR ".join(record_version.EVENTS),
                table=table,
            ),
            params=None,
        )


def drop_guards(apps, schema_editor):
    fire_pending_triggers(schema_editor)
    for table in EVENT_TABLES:
        schema_editor.execute(
            f"DROP TRIGGER IF EXISTS {record_version.TRIGGER} ON {table};", params=None
        )


def first_versions(apps, schema_editor):
    Clause = apps.get_model("agreements", "Clause")
    StatusChange = apps.get_model("agreements", "StatusChange")
    ClauseVersion = apps.get_model("agreements", "ClauseVersion")
    creations = {
        change.clause_id: change
        for change in StatusChange.objects.filter(kind="clause", from_status="").order_by("-id")
    }
    versions = []
    for clause in Clause.objects.exclude(text="").filter(versions__isnull=True):
        creation = creations.get(clause.pk)
        if creation is None:
            continue  # no history to date it by: its first version is the next edit
        versions.append(
            ClauseVersion(
                clause=clause,
                number=1,
                text=clause.text,
                kind="proposal",
                proposed_on=creation.effective_on,
                recorded_by_id=creation.recorded_by_id,
                recorded_at=creation.recorded_at,
                note="",
            )
        )
    ClauseVersion.objects.bulk_create(versions, batch_size=500)
    fire_pending_triggers(schema_editor)


def fire_pending_triggers(schema_editor) -> None:
    """Rows added to a table leave the record version's deferred triggers pending, and
    PostgreSQL refuses to alter a table with pending trigger events (the foreign keys this
    migration adds last, or the tables undoing it drops): fire them now."""
    schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE", params=None)
    schema_editor.execute("SET CONSTRAINTS ALL DEFERRED", params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("agreements", "0015_audit_trail_leaves_derived_columns"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ClauseVersion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "recorded_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="recorded at"
                    ),
                ),
                ("note", models.TextField(blank=True, verbose_name="note")),
                (
                    "precision",
                    models.CharField(
                        choices=[("day", "Exact day"), ("month", "Month"), ("year", "Year")],
                        default="day",
                        help_text="How precisely the date is known: a month is stored as its first day.",
                        max_length=10,
                        verbose_name="date precision",
                    ),
                ),
                ("number", models.PositiveIntegerField(verbose_name="number")),
                ("text", models.TextField(verbose_name="text")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("proposal", "Proposal"),
                            ("counter_proposal", "Counter-proposal"),
                            ("compromise", "Compromise"),
                            ("agreed", "Agreed text"),
                        ],
                        default="proposal",
                        max_length=20,
                        verbose_name="kind",
                    ),
                ),
                (
                    "proposed_on",
                    models.DateField(
                        validators=[agreements.models.dates.validate_record_date],
                        verbose_name="date",
                    ),
                ),
                (
                    "clause",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="versions",
                        to="agreements.clause",
                        verbose_name="clause",
                    ),
                ),
                (
                    "proposed_by",
                    models.ForeignKey(
                        blank=True,
                        help_text="Empty for a joint text.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="proposed_versions",
                        to="agreements.party",
                        verbose_name="proposed by",
                    ),
                ),
                (
                    "recorded_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="recorded_%(class)ss",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="recorded by",
                    ),
                ),
                (
                    "source",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="agreements.source",
                        verbose_name="source",
                    ),
                ),
            ],
            options={
                "verbose_name": "clause version",
                "verbose_name_plural": "clause versions",
                "ordering": ["clause", "number"],
            },
        ),
        migrations.CreateModel(
            name="Position",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "recorded_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="recorded at"
                    ),
                ),
                ("note", models.TextField(blank=True, verbose_name="note")),
                (
                    "precision",
                    models.CharField(
                        choices=[("day", "Exact day"), ("month", "Month"), ("year", "Year")],
                        default="day",
                        help_text="How precisely the date is known: a month is stored as its first day.",
                        max_length=10,
                        verbose_name="date precision",
                    ),
                ),
                (
                    "stance",
                    models.CharField(
                        choices=[
                            ("proposes", "Proposes"),
                            ("accepts", "Accepts"),
                            ("accepts_ad_referendum", "Accepts ad referendum"),
                            ("reserves", "Reserves"),
                            ("rejects", "Rejects"),
                            ("withdraws", "Withdraws"),
                        ],
                        max_length=30,
                        verbose_name="stance",
                    ),
                ),
                (
                    "reservation",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("scrutiny", "Scrutiny"),
                            ("linguistic", "Linguistic"),
                            ("substantive", "Substantive"),
                        ],
                        help_text="Only for a reservation.",
                        max_length=20,
                        verbose_name="kind of reservation",
                    ),
                ),
                (
                    "taken_on",
                    models.DateField(
                        validators=[agreements.models.dates.validate_record_date],
                        verbose_name="date",
                    ),
                ),
                (
                    "visibility",
                    models.CharField(
                        choices=[
                            ("shared", "Shared with readers"),
                            ("internal", "Internal (staff only)"),
                        ],
                        default="shared",
                        help_text=(
                            "An internal position (a party's confidential reservation) "
                            "is seen by staff only."
                        ),
                        max_length=10,
                        verbose_name="visibility",
                    ),
                ),
                (
                    "clause",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="positions",
                        to="agreements.clause",
                        verbose_name="clause",
                    ),
                ),
                (
                    "party",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="positions",
                        to="agreements.party",
                        verbose_name="party",
                    ),
                ),
                (
                    "recorded_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="recorded_%(class)ss",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="recorded by",
                    ),
                ),
                (
                    "source",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="agreements.source",
                        verbose_name="source",
                    ),
                ),
                (
                    "statement",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="positions",
                        to="agreements.statement",
                        verbose_name="statement",
                    ),
                ),
                (
                    "topic",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="positions",
                        to="agreements.topic",
                        verbose_name="topic",
                    ),
                ),
                (
                    "version",
                    models.ForeignKey(
                        blank=True,
                        help_text="The text the position refers to; the current one if left empty.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="positions",
                        to="agreements.clauseversion",
                        verbose_name="version",
                    ),
                ),
            ],
            options={
                "verbose_name": "position",
                "verbose_name_plural": "positions",
                "ordering": ["-taken_on", "-recorded_at", "-id"],
            },
        ),
        migrations.AddIndex(
            model_name="clauseversion",
            index=models.Index(fields=["recorded_at"], name="clauseversion_recorded_at"),
        ),
        migrations.AddConstraint(
            model_name="clauseversion",
            constraint=models.UniqueConstraint(
                fields=("clause", "number"), name="clauseversion_number"
            ),
        ),
        migrations.AddConstraint(
            model_name="clauseversion",
            constraint=models.CheckConstraint(
                condition=models.Q(("number__gte", 1)), name="clauseversion_number_min"
            ),
        ),
        migrations.AddConstraint(
            model_name="clauseversion",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("kind__in", ["proposal", "counter_proposal", "compromise", "agreed"])
                ),
                name="clauseversion_kind_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="clauseversion",
            constraint=models.CheckConstraint(
                condition=models.Q(("precision__in", ["day", "month", "year"])),
                name="clauseversion_precision_valid",
            ),
        ),
        migrations.AddIndex(
            model_name="position",
            index=models.Index(
                fields=["clause", "party", "taken_on", "id"], name="position_clause"
            ),
        ),
        migrations.AddIndex(
            model_name="position",
            index=models.Index(fields=["topic", "party", "taken_on", "id"], name="position_topic"),
        ),
        migrations.AddIndex(
            model_name="position",
            index=models.Index(fields=["recorded_at"], name="position_recorded_at"),
        ),
        migrations.AddConstraint(
            model_name="position",
            constraint=models.CheckConstraint(
                condition=models.Q(("visibility__in", ["shared", "internal"])),
                name="position_visibility_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="position",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("clause__isnull", False), ("topic__isnull", True)),
                    models.Q(
                        ("clause__isnull", True),
                        ("topic__isnull", False),
                        ("version__isnull", True),
                    ),
                    _connector="OR",
                ),
                name="position_one_subject",
            ),
        ),
        migrations.AddConstraint(
            model_name="position",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "stance__in",
                        [
                            "proposes",
                            "accepts",
                            "accepts_ad_referendum",
                            "reserves",
                            "rejects",
                            "withdraws",
                        ],
                    )
                ),
                name="position_stance_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="position",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("reservation__in", ["scrutiny", "linguistic", "substantive"]),
                        ("stance", "reserves"),
                    ),
                    models.Q(models.Q(("stance", "reserves"), _negated=True), ("reservation", "")),
                    _connector="OR",
                ),
                name="position_reservation_with_reserves",
            ),
        ),
        migrations.AddConstraint(
            model_name="position",
            constraint=models.CheckConstraint(
                condition=models.Q(("precision__in", ["day", "month", "year"])),
                name="position_precision_valid",
            ),
        ),
        migrations.RunPython(create_guards, drop_guards),
        # Append-only like the status history and the audit trail (UPDATE, DELETE, TRUNCATE).
        *(operation for table in EVENT_TABLES for operation in refuse_edits(table)),
        migrations.RunPython(first_versions, migrations.RunPython.noop),
        # Readers read versions and positions; editors add them (agreements/roles.py).
        migrations.RunPython(roles.create_roles, migrations.RunPython.noop),
        # Dropped with its table when undone.
    ]
