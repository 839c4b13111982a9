"""Rendered parts of the reader pages, cached until the record changes.

The database keeps a version of the record: one counter (`RecordVersion`) that triggers on
every record table bump, once in each transaction that writes to them (migration 0007).
The app, the admin, commands, bulk inserts and raw SQL all write through those tables, so
no writer can forget to invalidate. On PostgreSQL the triggers run at commit, as the
transaction's last step: the counter's row lock is held for an instant and taken after
every other lock, so two editors saving at once cannot deadlock on it.

Templates cache their expensive parts with Django's `{% cache %}` tag, keyed by
`record_key` (this module's context processor) and the request's path and query:

    {% cache cache_seconds agreement_clauses record_key request.get_full_path %}
    ...
    {% endcache %}

`record_key` is the version, what the reader may see (staff see internal records), the
language, and today's date (the dashboard's "next milestones" move at midnight, not when
the record does). A new version makes every older entry unreachable; the cache's timeout
and culling drop them.

The cache is each worker's own memory (LocMemCache), or with `CACHE_URL` one Redis shared by
every app server (exomars_site/cache.py). Each request reads the version from the database
before it uses the cache, in the same query as its session, user and reader permission
(agreements/sessions.py; `check_reader` asks for it when that query did not), so a change
made through one worker, a command or another machine is seen by the next request
everywhere.

Views leave their querysets unevaluated (lazy), so that a cached part costs no query at all.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Exists
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject
from django.utils.translation import get_language

from . import clock
from .models import RecordVersion, can_read, reader_permission

# Names of the triggers (migration 0007); tests make them fire at once rather than at commit.
TRIGGER = "agreements_record_changed"


def check_reader(request: HttpRequest) -> bool:
    """`can_read(request.user)`, with the record's version kept on the request for
    `record_key`. Both usually came with the session (agreements/sessions.py); otherwise
    they are asked here in one query."""
    user = request.user
    if getattr(user, "_can_read", None) is None and not (
        user.is_staff or user.is_superuser or not user.is_authenticated or not user.is_active
    ):
        row = (
            RecordVersion.objects.filter(pk=RecordVersion.SINGLETON)
            .annotate(readable=Exists(reader_permission(user)))
            .values_list("number", "readable")
            .first()
        )
        if row is not None:
            request.record_version, user._can_read = row
    return can_read(user)


def current_version() -> int:
    """The record's version; 0 for a database whose counter row was never written."""
    row = RecordVersion.objects.filter(pk=RecordVersion.SINGLETON).values_list("number")
    found = row.first()
    return found[0] if found else 0


def scope_of(user) -> str:
    """What part of the record `user` is shown: staff see internal records, readers do not."""
    return "staff" if user.is_staff else "shared"


def record_key(request: HttpRequest) -> str:
    return ":".join(
        [
            str(getattr(request, "record_version", None) or current_version()),
            scope_of(request.user),
            get_language() or "",
            clock.today().isoformat(),
        ]
    )


def context(request: HttpRequest) -> dict:
    """`record_key` (read only when a template caches something) and `cache_seconds`."""
    return {
        "record_key": SimpleLazyObject(lambda: record_key(request)),
        "cache_seconds": settings.CACHES["default"].get("TIMEOUT", 300),
    }
