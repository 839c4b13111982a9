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

from agreements import record_versions, services
from agreements.models import (
    Agreement,
    AuditEvent,
    Clause,
    FundingSource,
    Milestone,
    Party,
    Person,
    Programme,
    ReaderVisit,
    Source,
    Statement,
    StatusChange,
    SubjectVersion,
    Subscription,
    Topic,
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
    "SubjectVersion",
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


# Versions per record: an edit to one agreement leaves the other agreements' pages cached ----


def installed_trigger_arguments() -> dict[str, list[str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgrelid::regclass::text, tgargs FROM pg_trigger WHERE tgname = %s", [TRIGGER]
        )
        return {
            table: [value.decode() for value in bytes(arguments).split(b"\x00")[:-1]]
            for table, arguments in cursor.fetchall()
        }


@pytest.mark.django_db
def test_every_record_table_says_which_records_it_belongs_to():
    assert set(record_versions.SUBJECTS) == record_tables() | {"auth_user"}
    installed = installed_trigger_arguments()
    for table in record_versions.SUBJECTS:
        assert installed[table] == record_versions.trigger_arguments(table), table
    for table, pairs in record_versions.SUBJECTS.items():
        assert {kind for kind, _column in pairs} <= record_versions.KINDS, table


def subject_versions() -> dict[tuple[str, int], int]:
    rows = SubjectVersion.objects.values_list("kind", "subject_id", "number")
    return {(kind, subject): number for kind, subject, number in rows}


def bumped_by(change) -> set[tuple[str, int]]:
    """The subjects whose version `change` moved."""
    before = subject_versions()
    change()
    return {key for key, number in subject_versions().items() if number > before.get(key, 0)}


def writes(record) -> dict:
    """For each record table, a write to one of its rows and the subjects it must bump."""
    agreement = ("agreement", record.agreement.pk)
    programme = ("programme", record.programme.pk)
    topic = ("topic", record.topic.pk)
    common = {("common", 0)}
    record.topic.parties.set([record.esa])

    def update(model, pk, **values):
        return lambda: model.objects.filter(pk=pk).update(**values)

    def history_of_funding():
        StatusChange.objects.create(
            kind=StatusChange.Kind.FUNDING_SOURCE,
            funding_source=record.secured,
            from_status="expected",
            to_status="secured",
            recorded_by=record.editor,
            effective_on=datetime.date(2012, 11, 20),
        )

    return {
        "agreements_agreement": (
            update(Agreement, record.agreement.pk, summary="New"),
            {agreement, programme},
        ),
        "agreements_agreement_parties": (
            lambda: record.agreement.parties.remove(record.roscosmos),
            {agreement},
        ),
        "agreements_clause": (update(Clause, record.clause.pk, title="New"), {agreement}),
        # Through the service, which writes the clause's text too: both belong to it.
        "agreements_clauseversion": (
            lambda: services.add_clause_version(record.clause, text="New", by=record.editor),
            {agreement},
        ),
        "agreements_position": (
            lambda: services.record_position(
                record.esa, topic=record.topic, stance="proposes", by=record.editor
            ),
            {topic},
        ),
        # A funding source's history belongs to its programme (looked up at commit).
        "agreements_statuschange": (history_of_funding, {programme}),
        "agreements_fundingsource": (
            update(FundingSource, record.secured.pk, title="New"),
            {programme},
        ),
        "agreements_milestone": (update(Milestone, record.milestone.pk, title="New"), {agreement}),
        "agreements_statement": (
            update(Statement, record.statement.pk, summary="New"),
            {agreement},
        ),
        "agreements_topic": (update(Topic, record.topic.pk, next_step="New"), {topic}),
        "agreements_topic_parties": (lambda: record.topic.parties.add(record.roscosmos), {topic}),
        "agreements_programme": (
            update(Programme, record.programme.pk, summary="New"),
            {programme},
        ),
        "agreements_party": (update(Party, record.esa.pk, name="ESA, renamed"), common),
        "agreements_person": (update(Person, record.speaker.pk, role="New"), common),
        "agreements_source": (update(Source, record.source.pk, title="New"), common),
        "auth_user": (update(User, record.editor.pk, first_name="Frederic"), common),
        # A link shows on the pages of both its records.
        "agreements_link": (
            lambda: services.record_link(
                record.agreement, "blocked_by", record.topic, by=record.editor
            ),
            {agreement, topic},
        ),
    }


@pytest.mark.django_db
@pytest.mark.parametrize("table", sorted(record_versions.SUBJECTS))
def test_each_table_bumps_the_versions_of_what_its_rows_belong_to(record, table):
    change, subjects = writes(record)[table]
    assert moves(lambda: assert_bumps(change, subjects))


def assert_bumps(change, subjects) -> None:
    assert bumped_by(change) == subjects


@pytest.mark.django_db
def test_a_row_moved_to_another_record_bumps_both(record):
    other = ("agreement", record.internal_agreement.pk)
    moved = bumped_by(
        lambda: Clause.objects.filter(pk=record.second_clause.pk).update(
            agreement=record.internal_agreement
        )
    )
    assert moved == {("agreement", record.agreement.pk), other}


@pytest.mark.django_db
def test_a_trigger_without_subjects_rebuilds_every_record_page(record):
    """0007's trigger, as a table added by a migration that copied it would have."""
    with connection.cursor() as cursor:
        cursor.execute(record_versions.drop_trigger("agreements_topic"))
        cursor.execute(
            f"CREATE CONSTRAINT TRIGGER {TRIGGER} AFTER UPDATE ON agreements_topic "
            f"DEFERRABLE INITIALLY IMMEDIATE FOR EACH ROW EXECUTE FUNCTION {TRIGGER}()"
        )
    assert bumped_by(lambda: Topic.objects.filter(pk=record.topic.pk).update(next_step="New")) == {
        ("common", 0)
    }


@pytest.mark.django_db(transaction=True)
def test_a_transaction_bumps_each_record_once_and_many_records_at_once(editor):
    programme = Programme.objects.create(name="ExoMars", slug="exomars", estimated_cost=1)
    agreement = Agreement.objects.create(title="A", slug="a", programme=programme)
    Clause.objects.bulk_create(
        Clause(agreement=agreement, reference=str(n), title=f"Clause {n}") for n in range(3)
    )
    before, record_before = subject_versions(), current_version()
    with transaction.atomic():
        Clause.objects.filter(agreement=agreement).update(title="Renamed")
        Agreement.objects.filter(pk=agreement.pk).update(summary="Renamed")
    after = subject_versions()
    assert after[("agreement", agreement.pk)] == before[("agreement", agreement.pk)] + 1
    assert after[("programme", programme.pk)] == before[("programme", programme.pk)] + 1
    assert after.get(("common", 0), 0) == before.get(("common", 0), 0)
    assert current_version() == record_before + 1

    # An import's worth of records: every record page at once, not a bump per record.
    many = record_versions.MAX_SUBJECTS + 10
    with transaction.atomic():
        Topic.objects.bulk_create(Topic(title=f"T{n}", slug=f"t{n}") for n in range(many))
    final = subject_versions()
    assert final[("common", 0)] == after.get(("common", 0), 0) + 1
    assert sum(kind == "topic" for kind, _subject in final) < many


def another_agreement(record) -> tuple[Agreement, Clause]:
    """A second shared agreement of the same programme, with a clause."""
    other = record.create(
        Agreement(title="Mars sample return", slug="sample-return", programme=record.programme)
    )
    other.parties.set([record.esa, record.roscosmos])
    clause = record.create(Clause(agreement=other, reference="1", title="Return capsule"))
    services.add_clause_version(clause, text="ESA builds the capsule.", by=record.editor)
    services.add_clause_version(
        clause, text="ESA builds the capsule, NASA the rest.", by=record.editor
    )
    return other, clause


def pages_of(agreement: Agreement, clause: Clause) -> list[str]:
    return [
        f"/agreements/{agreement.slug}/",
        f"/agreements/{agreement.slug}/?clause_status=draft",
        f"/agreements/{agreement.slug}/positions/",
        f"/clauses/{clause.pk}/",
    ]


@pytest.mark.django_db
def test_an_edit_to_one_agreement_leaves_the_others_pages_cached(record, stakeholder, login):
    other, other_clause = another_agreement(record)
    client = login(stakeholder)
    mine = pages_of(record.agreement, record.clause)
    kept = [
        *pages_of(other, other_clause),
        f"/clauses/{other_clause.pk}/compare/",
        "/topics/juice/",
        "/programmes/exomars/",
    ]
    first = {path: queries_for(client, path)[1] for path in mine + kept}

    services.change_status(record.clause, to="pending", by=record.editor, note="moved on")
    services.add_clause_version(record.clause, text="A new text", by=record.editor)

    for path in kept:
        # The session's query and the record's (with its versions): the page is the cache's.
        warm, page = queries_for(client, path)
        assert warm == 2, path
        assert without_tokens(page) == without_tokens(first[path])
    for path in mine:
        cold, _page = queries_for(client, path)
        assert cold > 2, path
    assert "moved on" in queries_for(client, mine[0])[1]
    assert "A new text" in queries_for(client, mine[3])[1]


@pytest.mark.django_db
def test_a_change_to_the_programme_reaches_each_agreement_of_it(record, stakeholder, login):
    other, _clause = another_agreement(record)
    client = login(stakeholder)
    path = f"/agreements/{other.slug}/"
    before = queries_for(client, path)[1]
    assert queries_for(client, path)[0] == 2
    FundingSource.objects.filter(pk=record.secured.pk).update(amount=45_000_000)
    after, page = queries_for(client, path)
    assert after > 2
    assert without_tokens(page) != without_tokens(before)


@pytest.mark.django_db
def test_a_renamed_party_reaches_every_record_page(record, stakeholder, login):
    client = login(stakeholder)
    paths = [f"/agreements/{record.agreement.slug}/", f"/clauses/{record.clause.pk}/"]
    for path in paths:
        assert "Roscosmos" in queries_for(client, path)[1]
    Party.objects.filter(pk=record.roscosmos.pk).update(name="State Space Corporation")
    for path in paths:
        assert "State Space Corporation" in queries_for(client, path)[1]


@pytest.mark.django_db
def test_a_record_page_is_keyed_by_its_records_versions_and_the_readers_scope(
    record, editor, stakeholder
):
    staff, reader = Client(), Client()
    staff.force_login(editor)
    reader.force_login(stakeholder)
    path = f"/clauses/{record.clause.pk}/"
    for client in (reader, staff):
        queries_for(client, path)
    # An internal clause of the same agreement: the reader's cached page must not show it.
    Clause.objects.filter(pk=record.second_clause.pk).update(visibility=Visibility.INTERNAL)
    page = f"/agreements/{record.agreement.slug}/"
    assert record.second_clause.title not in queries_for(reader, page)[1]
    assert record.second_clause.title in queries_for(staff, page)[1]


@pytest.mark.django_db
def test_a_linked_records_change_reaches_the_page_that_waits_on_it(record, stakeholder, login):
    """The agreement's "Waiting on" panel shows the topic's state: a change to the topic
    alone (not to the agreement, nor to the link) must still rebuild the agreement's page,
    while a page with no link keeps its own versions."""
    services.record_link(record.agreement, "blocked_by", record.topic, by=record.editor)
    client = login(stakeholder)
    path = f"/agreements/{record.agreement.slug}/"
    before = queries_for(client, path)[1]
    assert queries_for(client, path)[0] == 2  # cached

    services.change_status(record.topic, to="agreed", by=record.editor, source=record.source)

    rebuilt, page = queries_for(client, path)
    assert rebuilt > 2
    assert without_tokens(page) != without_tokens(before)  # the lifted blocker shows


@pytest.mark.django_db
def test_a_change_reaches_the_records_its_links_lead_to(record):
    """Links are followed at commit: to a record's neighbours either way (their panels show
    its state), on through blockers to what they hold up (a path to signature shows the
    whole chain) and through packages (each member counts the agreed ones); no further."""
    other, other_clause = another_agreement(record)
    agreement, topic = ("agreement", record.agreement.pk), ("topic", record.topic.pk)
    # The agreement waits on the topic, which waits on the money; the other agreement's
    # clause is only related to the topic.
    services.record_link(record.agreement, "blocked_by", record.topic, by=record.editor)
    services.record_link(record.topic, "blocked_by", record.secured, by=record.editor)
    services.record_link(other_clause, "related", record.topic, by=record.editor)

    money = bumped_by(
        lambda: FundingSource.objects.filter(pk=record.secured.pk).update(title="Savings")
    )
    assert money == {("programme", record.programme.pk), topic, agreement}

    related = bumped_by(
        lambda: Clause.objects.filter(pk=other_clause.pk).update(title="Return vehicle")
    )
    assert related == {("agreement", other.pk), topic}

    # A package, however indirectly: the second clause and the other agreement's clause
    # are each packaged with the first clause.
    services.record_link(record.second_clause, "package", record.clause, by=record.editor)
    services.record_link(other_clause, "package", record.clause, by=record.editor)
    packaged = bumped_by(
        lambda: Clause.objects.filter(pk=record.second_clause.pk).update(title="Landing")
    )
    assert packaged == {agreement, ("agreement", other.pk)}
