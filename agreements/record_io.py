"""A complete, versioned JSON export of the negotiation record, and its import.

The export holds every domain record and the whole status history, plus the accounts that
recorded it (usernames, names, email, staff flag, groups) — never passwords, sessions,
subscriptions or feed tokens. It imports into an empty database and gives the same pages:
primary keys are kept, so links and history stay as they were.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import Group, User
from django.core import serializers
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Q
from django.utils import timezone

from . import models as domain
from .audit_trail import recorded

FORMAT = "negotiation-tracker-record"
VERSION = 1

# In dependency order: a record comes after everything it points to.
RECORD_MODELS: list[type[models.Model]] = [
    domain.Party,
    domain.Person,
    domain.Source,
    domain.Programme,
    domain.FundingSource,
    domain.Agreement,
    domain.Clause,
    domain.Topic,
    domain.Milestone,
    domain.Statement,
    domain.StatusChange,
    domain.ClauseVersion,
    domain.Position,
    domain.Link,
]
# Rows that name the account that recorded them (a link's may be empty).
RECORDED_BY_MODELS = {domain.StatusChange, domain.ClauseVersion, domain.Position, domain.Link}

Progress = Callable[[str], None]


class RecordImportError(Exception):
    """The file is not an export this version can read, or the database is not empty."""


def export_record(progress: Progress | None = None) -> dict[str, Any]:
    users = User.objects.filter(
        Q(recorded_status_changes__isnull=False)
        | Q(recorded_clauseversions__isnull=False)
        | Q(recorded_positions__isnull=False)
        | Q(pk__in=domain.Link.objects.values("recorded_by"))
    ).distinct()
    usernames = dict(users.values_list("pk", "username"))
    data: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": timezone.now().isoformat(),
        "users": [
            {
                "username": user.username,
                "first_name": user.first_name,
                "last_name": user.last_name,
                "email": user.email,
                "is_staff": user.is_staff,
                "is_active": user.is_active,
                "groups": sorted(group.name for group in user.groups.all()),
            }
            for user in users.order_by("pk").prefetch_related("groups")
        ],
        "records": {},
    }
    for model in RECORD_MODELS:
        label = model._meta.label_lower
        # The parties of every agreement and topic in one query each, not one per row.
        many = [field.name for field in model._meta.many_to_many]
        # Generated columns (the search document) are the database's to write.
        fields = [f.name for f in model._meta.local_fields if not f.generated and not f.primary_key]
        rows = serializers.serialize(
            "python",
            model.objects.order_by("pk").prefetch_related(*many),
            fields=[*fields, *many],
        )
        for row in rows:
            row.pop("model", None)
            if model in RECORDED_BY_MODELS:
                # Accounts are named, not numbered: ids differ between databases.
                recorded_by = row["fields"]["recorded_by"]
                row["fields"]["recorded_by"] = usernames[recorded_by] if recorded_by else None
        data["records"][label] = rows
        if progress:
            progress(f"{label}: {len(rows)}")
    return _jsonable(data)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if hasattr(value, "as_tuple"):  # Decimal: kept exact as a string
        return str(value)
    return value


@transaction.atomic
def import_record(data: dict[str, Any], progress: Progress | None = None) -> dict[str, int]:
    """Load an export into an empty database. The writes are audit events tagged
    `import_record` (the audit trail itself is not part of an export)."""
    with recorded(command="import_record"):
        return _import_record(data, progress)


def _import_record(data: dict[str, Any], progress: Progress | None) -> dict[str, int]:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise RecordImportError("This file is not a negotiation record export.")
    if data.get("version") != VERSION:
        raise RecordImportError(
            f"Export version {data.get('version')!r} cannot be read; this version reads {VERSION}."
        )
    if any(model.objects.exists() for model in RECORD_MODELS):
        raise RecordImportError("The database already holds a record; import into an empty one.")

    counts: dict[str, int] = {}
    user_ids: dict[str, int] = {}
    for entry in data.get("users", []):
        user, created = User.objects.get_or_create(
            username=entry["username"],
            defaults={
                "first_name": entry.get("first_name", ""),
                "last_name": entry.get("last_name", ""),
                "email": entry.get("email", ""),
                "is_staff": entry.get("is_staff", False),
                "is_active": entry.get("is_active", True),
            },
        )
        if created:
            user.set_unusable_password()  # passwords are not exported; reset them
            user.save(update_fields=["password"])
            # Roles come with an account the import makes. An existing account keeps its
            # own: a file naming it in Editors must not make it one.
            user.groups.add(*Group.objects.filter(name__in=entry.get("groups", [])))
        user_ids[user.username] = user.pk

    records = data.get("records", {})
    for model in RECORD_MODELS:
        label = model._meta.label_lower
        rows = records.get(label, [])
        if model in RECORDED_BY_MODELS:
            for row in rows:
                username = row["fields"]["recorded_by"]
                if username is None and model is domain.Link:
                    continue
                if username not in user_ids:
                    raise RecordImportError(f"History names an unknown account: {username!r}.")
                row["fields"]["recorded_by"] = user_ids[username]
        objects = serializers.deserialize(
            "python", [{"model": label, **row} for row in rows], ignorenonexistent=False
        )
        for obj in objects:
            # save_base with raw=True: stored as exported, statuses and history included,
            # without the status guard (these rows are the history, not new changes).
            obj.save()
        counts[label] = len(rows)
        if progress:
            progress(f"{label}: {len(rows)}")

    # Primary keys were kept; move the sequences past them so new rows do not collide.
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), RECORD_MODELS):
            cursor.execute(sql)
    return counts
