"""Rendered parts of the reader pages, cached until what they show changes.

The database keeps versions of the record, bumped by triggers on every record table, once in
each transaction that writes to them (migrations 0007 and 0021, agreements/record_versions.py):

- the whole record's version (`RecordVersion`), which moves with any change: the pages that
  show everything (dashboard, lists, timeline, search, briefing) are cached under it;
- a version per agreement, topic and programme, and one for what every record page shows
  (parties, people, sources, names: `common`), in `SubjectVersion`: a record's page is
  cached under the versions of the records it shows, so an edit to one agreement's clause
  leaves every other agreement's pages cached. An agreement's page shows its programme's
  funding and milestones, so it is keyed by the agreement's and the programme's versions;
  a clause's pages (the clause, its redline, the position grid) by its agreement's.

The app, the admin, commands, bulk inserts and raw SQL all write through those tables, so
no writer can forget to invalidate. On PostgreSQL the triggers run at commit, as the
transaction's last step: the counters' row locks are held for an instant and taken after
every other lock, the whole record's first, so two editors saving at once cannot deadlock.

Templates cache their expensive parts with Django's `{% cache %}` tag, keyed by
`record_key` (this module's context processor) and the request's path and query:

    {% cache cache_seconds agreement_clauses record_key request.get_full_path %}
    ...
    {% endcache %}

`record_key` is the version (the whole record's, or the page's records' when the view said
which with `key_by`), what the reader may see (staff see internal records), the language,
and today's date (the dashboard's "next milestones" move at midnight, not when the record
does). A new version makes every older entry unreachable; the cache's timeout and culling
drop them.

The cache is each worker's own memory (LocMemCache), or with `CACHE_URL` one Redis shared by
every app server (exomars_site/cache.py). Each request reads the versions from the database
before it uses the cache, so a change made through one worker, a command or another machine
is seen by the next request everywhere: the whole record's version in the same query as the
session, user and reader permission (agreements/sessions.py; `check_reader` asks for it when
that query did not), a record page's versions in the query that finds the record
(`page_versions`), which the page makes anyway to answer 404 or not. Both queries are built
and compiled once per process (agreements/query_shapes.py).

Views leave their querysets unevaluated (lazy), so that a cached part costs no query at all.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import CharField, Exists, F, OuterRef, Subquery, Value
from django.db.models.functions import Cast, Coalesce, Concat
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject
from django.utils.translation import get_language

from . import clock
from .models import RecordVersion, SubjectVersion, audience, can_read, reader_permission

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


def version_of(kind: str, subject) -> Coalesce:
    """The version of one subject (`subject` an id or an expression for one), 0 until its
    first change."""
    number = SubjectVersion.objects.filter(kind=kind, subject_id=subject).values("number")
    return Coalesce(Subquery(number[:1]), Value(0))


def page_versions(**subjects: str) -> Concat:
    """An annotation for the query that finds a record page's record: the versions of what
    the page shows, as text for `key_by`. Each keyword names a kind of subject and the
    field that holds its id (`agreement="pk", programme="programme_id"`); `common` is
    always in. A subject's id is part of the text, so a record moved to another programme
    is not taken for the old one at the same number.

    The links a page shows ("Waiting on", "Holds up", the path to signature) need nothing
    here: a change to a linked record bumps the versions of the records linked to it, however
    far along a chain of blockers (`agreements_version_subjects`)."""
    parts: list = [Value("common."), version_of(SubjectVersion.Kind.COMMON, 0)]
    for kind, field in subjects.items():
        parts += [
            Value(f"/{kind}:"),
            Coalesce(Cast(F(field), CharField()), Value("-")),
            Value("."),
            version_of(kind, OuterRef(field)),
        ]
    return Concat(*parts, output_field=CharField())


def key_by(request: HttpRequest, versions: str) -> None:
    """Key this request's cached parts by `versions` (a `page_versions` annotation) instead of
    the whole record's version: the page shows only those records."""
    request.page_versions = versions


def record_key(request: HttpRequest) -> str:
    page = getattr(request, "page_versions", None)
    if page is not None:
        version = f"page:{page}"
    else:
        version = str(getattr(request, "record_version", None) or current_version())
    return ":".join(
        [
            version,
            # Who sees the same records (staff see internal ones); only readers get here.
            audience(request.user) or "",
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
