"""Cached page parts: served again until the record changes, never across readers' scopes.

The record's version (agreements/record_cache.py) is bumped by database triggers, so these
tests change the record the ways writers do (the service, a queryset update, a bulk insert,
raw SQL) and check that the version moves and the pages follow.
"""

from __future__ import annotations

import datetime
import re

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agreements import services
from agreements.models import (
    Agreement,
    AuditEvent,
    Party,
    ReaderVisit,
    Subscription,
    Visibility,
)
from agreements.record_cache import TRIGGER, current_version, record_key

# Tables that change without changing what a reader page shows. An API token's last use
# is written as scripts read: were it a record table, every script would empty the cache.
NOT_RECORD = {
    "Subscription",
    "DigestDelivery",
    "DigestItem",
    "RecordVersion",
    "ApiToken",
    "ReaderSession",
    # Written at each login ("Since my last visit"): a login must not empty the cache.
    "ReaderVisit",
}


def record_tables() -> set[str]:
    tables = set()
    for model in apps.get_app_config("agreements").get_models():
        if model.__name__ in NOT_RECORD or issubclass(model, AuditEvent):
            continue  # an audit event is not what readers see
        tables.add(model._meta.db_table)
        for field in model._meta.local_many_to_many:
            tables.add(field.remote_field.through._meta.db_table)
    return tables


@pytest.mark.django_db
def test_every_record_table_bumps_the_version():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgrelid::regclass::text FROM pg_trigger WHERE tgname = %s", [TRIGGER]
        )
        triggered = {row[0] for row in cursor.fetchall()}
    assert triggered == record_tables() | {"auth_user"}


def moves(change) -> bool:
    before = current_version()
    change()
    return current_version() > before


@pytest.mark.django_db
def test_writers_of_every_kind_move_the_version(record):
    assert moves(lambda: services.change_status(record.clause, to="pending", by=record.editor))
    assert moves(lambda: Party.objects.filter(pk=record.esa.pk).update(name="ESA, renamed"))
    assert moves(lambda: Party.objects.bulk_create([Party(name="CNES", slug="cnes")]))
    assert moves(lambda: record.agreement.parties.remove(record.roscosmos))

    def raw_sql():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE agreements_topic SET next_step = 'Meet again'")

    assert moves(raw_sql)
    assert moves(lambda: User.objects.filter(pk=record.editor.pk).update(first_name="Frederic"))


@pytest.mark.django_db
def test_what_readers_do_not_see_leaves_the_version_alone(record, stakeholder):
    assert not moves(
        lambda: User.objects.filter(pk=stakeholder.pk).update(last_login=timezone.now())
    )
    assert not moves(lambda: Subscription.objects.create(user=stakeholder))
    assert not moves(lambda: ReaderVisit.record_login(stakeholder, timezone.now()))


@pytest.mark.django_db(transaction=True)
def test_the_version_moves_when_the_transaction_commits(editor):
    before = current_version()
    with transaction.atomic():
        Party.objects.create(name="CNES", slug="cnes")
        Party.objects.bulk_create(Party(name=f"Agency {n}", slug=f"agency-{n}") for n in range(500))
        # Deferred to commit: the counter is locked for an instant, after every other lock.
        assert current_version() == before
    # Once for the whole transaction, however many rows it wrote.
    assert current_version() == before + 1


@pytest.mark.django_db(transaction=True)
def test_a_bump_undone_with_its_savepoint_is_made_again(editor):
    before = current_version()
    with transaction.atomic():
        try:
            with transaction.atomic():
                Party.objects.create(name="CNES", slug="cnes")
                connection.check_constraints()  # fire the deferred triggers here
                raise RuntimeError("undo")
        except RuntimeError:
            pass
        Party.objects.create(name="DLR", slug="dlr")
    assert current_version() == before + 1
    assert list(Party.objects.values_list("slug", flat=True)) == ["dlr"]


def queries_for(client: Client, path: str, **headers) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, headers=headers)
    assert response.status_code == 200
    return len(queries), response.content.decode()


def without_tokens(page: str) -> str:
    """The page less what is made anew for each response: the masked CSRF token and the
    Content Security Policy nonce (both outside the cached parts)."""
    page = re.sub(r'nonce="[^"]+"', 'nonce=""', page)
    return re.sub(r"[A-Za-z0-9]{64}", "TOKEN", page)


READER_PAGES = [
    "/",
    "/agreements/",
    "/agreements/?q=exomars",
    "/agreements/exomars-cooperation/",
    "/topics/",
    "/topics/juice/",
    "/programmes/exomars/",
    "/timeline/",
    "/search/?q=launchers",
]


@pytest.mark.django_db
@pytest.mark.parametrize("path", READER_PAGES)
def test_a_page_read_again_comes_from_the_cache(record, stakeholder, login, path):
    client = login(stakeholder)
    cold, first = queries_for(client, path)
    warm, again = queries_for(client, path)
    # The session, the user, the reader permission and the version in one query
    # (agreements/sessions.py); a detail page also finds its record (or answers 404).
    assert warm == (2 if path.count("/") > 2 else 1) < cold
    assert without_tokens(again) == without_tokens(first)


@pytest.mark.django_db
def test_a_change_shows_on_the_next_read(record, stakeholder, login):
    client = login(stakeholder)
    path = f"/agreements/{record.agreement.slug}/"
    assert "moved on" not in queries_for(client, path)[1]
    assert "moved on" not in queries_for(client, "/")[1]

    services.change_status(record.clause, to="pending", by=record.editor, note="moved on")

    assert "moved on" in queries_for(client, path)[1]
    assert "moved on" in queries_for(client, "/")[1]


@pytest.mark.django_db
def test_staff_and_readers_never_share_a_cached_part(record, editor, stakeholder):
    staff, reader = Client(), Client()
    staff.force_login(editor)
    reader.force_login(stakeholder)
    # Staff warm these pages first...
    for path in ("/", "/agreements/", "/search/?q=cost"):
        assert record.internal_agreement.title in queries_for(staff, path)[1]
        assert record.internal_agreement.title not in queries_for(reader, path)[1]
    # ...and the reader warms this one first.
    path = f"/agreements/{record.agreement.slug}/"
    assert record.internal_clause.title not in queries_for(reader, path)[1]
    assert record.internal_clause.title in queries_for(staff, path)[1]


@pytest.mark.django_db
def test_each_language_has_its_own_cached_part(record, stakeholder, login):
    client = login(stakeholder)
    english = queries_for(client, "/agreements/", **{"Accept-Language": "en"})[1]
    french = queries_for(client, "/agreements/", **{"Accept-Language": "fr"})[1]
    assert "1 agreement" in english
    assert "1 accord" in french


@pytest.mark.django_db
def test_a_fragment_and_its_page_share_a_part_but_not_the_page(record, stakeholder, login):
    client = login(stakeholder)
    path = f"/agreements/{record.agreement.slug}/?clause_status=draft"
    fragment = queries_for(client, path, **{"HX-Request": "true"})[1]
    assert "<html" not in fragment and record.clause.title in fragment

    page = queries_for(client, path)[1]
    assert "<html" in page and record.agreement.summary in page
    assert record.clause.title in page


@pytest.mark.django_db
def test_the_key_carries_the_day(record, stakeholder, rf, monkeypatch):
    request = rf.get("/")
    request.user = stakeholder
    today = record_key(request)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    monkeypatch.setattr(timezone, "localdate", lambda now=None: tomorrow)
    assert record_key(request) != today


def test_the_key_carries_the_replayed_day(record, stakeholder, rf, settings):
    request = rf.get("/")
    request.user = stakeholder
    settings.TRACKER_AS_OF = datetime.date(2012, 11, 26)
    replayed = record_key(request)
    settings.TRACKER_AS_OF = datetime.date(2012, 11, 27)
    assert record_key(request) != replayed


@pytest.mark.django_db
def test_a_hidden_record_made_visible_appears(record, stakeholder, login):
    client = login(stakeholder)
    assert record.internal_agreement.title not in queries_for(client, "/agreements/")[1]

    Agreement.objects.filter(pk=record.internal_agreement.pk).update(visibility=Visibility.SHARED)

    assert record.internal_agreement.title in queries_for(client, "/agreements/")[1]
    page = queries_for(client, f"/agreements/{record.internal_agreement.slug}/")[1]
    assert record.clause_of_internal_agreement.title in page
