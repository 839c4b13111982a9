"""Shared fixtures: the people (editor, stakeholder, manager, outsider) and a small record.

- editor: staff, group Editors: edits in the admin, sees internal records.
- stakeholder: group Stakeholders: reads shared records.
- manager: group Managers: reads shared records and gets digests.
- outsider: logged in but in no group: reads nothing.
"""

import contextlib
import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.db import connection

from agreements import record_cache, services
from agreements.models import (
    Agreement,
    Clause,
    FundingSource,
    Milestone,
    Party,
    Person,
    Programme,
    Source,
    Statement,
    Topic,
    Visibility,
)
from agreements.roles import ensure_roles

PASSWORD = "correct horse battery staple"


def pytest_sessionstart(session) -> None:
    """A DATABASE_URL that cannot be reached or logged into, or an embedded server that
    cannot start, stops the run with one line, not a traceback for every test."""
    import psycopg
    from django.conf import settings

    from exomars_site import database as embedded
    from exomars_site.database import connection_problem

    database = settings.DATABASES["default"]
    try:
        if database["ENGINE"] == "exomars_site.embedded_postgresql":
            embedded.embedded_database_url()  # its backend would, at the first connection
    except embedded.DatabaseSetupError as error:
        pytest.exit(str(error), returncode=1)
    try:
        psycopg.connect(
            host=database["HOST"] or None,
            port=database["PORT"] or None,
            user=database["USER"] or None,
            password=database["PASSWORD"] or None,
            dbname="postgres",
            connect_timeout=10,
        ).close()
    except psycopg.OperationalError as error:
        pytest.exit(connection_problem(error) or str(error), returncode=1)


def make_user(username: str, *, group: str | None = None, staff: bool = False, **extra) -> User:
    user = User.objects.create_user(
        username, f"{username}@example.org", PASSWORD, is_staff=staff, **extra
    )
    if group:
        # A transactional test flushes the groups the migration made; bring them back.
        if not Group.objects.filter(name=group).exists():
            ensure_roles()
        user.groups.add(Group.objects.get(name=group))
    return user


def feed_token_of(subscription) -> str:
    """New feed addresses for this subscription: the token, which only the owner sees."""
    token = subscription.issue_feed_token()
    subscription.save()
    return token


@pytest.fixture(autouse=True)
def fresh_page_cache(request) -> None:
    """Each test starts with no cached page part, and sees the record's version move at once.

    A test runs in one transaction that is never committed; the version triggers, deferred
    to commit and counting once per transaction in production, are made to count every
    change at once, or a test that reads a page, changes the record and reads it again
    would get the first answer back.
    """
    cache.clear()
    marker = request.node.get_closest_marker("django_db")
    transactional = "transactional_db" in request.fixturenames or (
        marker is not None and marker.kwargs.get("transaction", False)
    )
    wants_db = "db" in request.fixturenames or marker is not None
    if wants_db and not transactional:
        request.getfixturevalue("db")
        with connection.cursor() as cursor:
            cursor.execute(f"SET CONSTRAINTS {record_cache.TRIGGER} IMMEDIATE")
        bump_each_change(True)


def bump_each_change(on: bool) -> None:
    """Whether, for the rest of the test's transaction, the version triggers count every
    row changed at once (`on`) or once per record, as in production."""
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL agreements.bump_each_change = '{'on' if on else 'off'}'")


@contextlib.contextmanager
def bumping_once_per_record():
    """Bulk setup inside a test: versions bump as a production transaction bumps them, once
    per record, instead of at every row (above). The versions' trigger follows each row's
    links, so a setup of hundreds of linked rows otherwise costs minutes. Each change counts
    at once again afterwards, even when the setup fails."""
    bump_each_change(False)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL agreements.versions_bumped = ''")
    try:
        yield
    finally:
        bump_each_change(True)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings) -> None:
    # Real hashing costs a quarter second per account; the tests log in hundreds of times.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def editor(db) -> User:
    return make_user("editor", group="Editors", staff=True)


@pytest.fixture
def stakeholder(db) -> User:
    return make_user("stakeholder", group="Stakeholders")


@pytest.fixture
def manager(db) -> User:
    return make_user("manager", group="Managers")


@pytest.fixture
def outsider(db) -> User:
    return make_user("outsider")


@pytest.fixture
def superuser(db) -> User:
    return User.objects.create_superuser("root", "root@example.org", PASSWORD)


class Record:
    """A small negotiation: one shared agreement with two shared clauses and one internal,
    an internal agreement, a shared and an internal topic, a programme with funding."""

    def __init__(self, editor: User):
        self.editor = editor
        self.esa = Party.objects.create(name="European Space Agency", short_name="ESA", slug="esa")
        self.roscosmos = Party.objects.create(name="Roscosmos", slug="roscosmos")
        self.source = Source.objects.create(
            title="Report on the draft", publisher="Wire", published_on=datetime.date(2012, 11, 21)
        )
        self.programme = Programme.objects.create(
            name="ExoMars",
            slug="exomars",
            estimated_cost=Decimal("1200000000"),
            amount_in_question=Decimal("350000000"),
        )
        self.agreement = self.create(
            Agreement(
                title="ExoMars cooperation",
                slug="exomars-cooperation",
                programme=self.programme,
                summary="Cooperation on the two ExoMars launches.",
            )
        )
        self.agreement.parties.set([self.esa, self.roscosmos])
        self.clause = self.create(
            Clause(
                agreement=self.agreement,
                reference="1",
                position=1,
                title="Proton launchers",
                obligated_party=self.roscosmos,
            )
        )
        self.second_clause = self.create(
            Clause(agreement=self.agreement, reference="2", position=2, title="Orbiter instruments")
        )
        self.internal_clause = self.create(
            Clause(
                agreement=self.agreement,
                reference="3",
                position=3,
                title="Fallback position on landing module",
                visibility=Visibility.INTERNAL,
            )
        )
        self.internal_agreement = self.create(
            Agreement(
                title="Side letter on launch costs",
                slug="side-letter",
                visibility=Visibility.INTERNAL,
            )
        )
        self.clause_of_internal_agreement = self.create(
            Clause(agreement=self.internal_agreement, reference="1", title="Cost sharing")
        )
        self.topic = self.create(Topic(title="Juice cooperation", slug="juice", next_step="Talk"))
        self.internal_topic = self.create(
            Topic(title="Negotiating margin", slug="margin", visibility=Visibility.INTERNAL)
        )
        self.secured = self.create(
            FundingSource(
                programme=self.programme,
                title="Italy",
                contributor=self.esa,
                amount=Decimal("30000000"),
                status=FundingSource.Status.SECURED,
            )
        )
        self.potential = self.create(
            FundingSource(
                programme=self.programme,
                title="Science Programme Committee",
                amount=Decimal("50000000"),
                status=FundingSource.Status.POTENTIAL,
                decision_on=datetime.date(2013, 2, 1),
                decision_precision="month",
            )
        )
        self.internal_funding = self.create(
            FundingSource(
                programme=self.programme,
                title="Reserve we do not talk about",
                amount=Decimal("10000000"),
                status=FundingSource.Status.EXPECTED,
                visibility=Visibility.INTERNAL,
            )
        )
        self.milestone = Milestone.objects.create(
            title="Launch of the orbiter",
            kind=Milestone.Kind.LAUNCH,
            happens_on=datetime.date(2016, 1, 1),
            precision="year",
            agreement=self.agreement,
        )
        self.internal_milestone = Milestone.objects.create(
            title="Internal deadline",
            happens_on=datetime.date(2013, 1, 15),
            visibility=Visibility.INTERNAL,
        )
        self.speaker = Person.objects.create(
            name="Frederic Nordlund", party=self.esa, role="Head of international relations"
        )
        self.statement = Statement.objects.create(
            person=self.speaker,
            said_on=datetime.date(2012, 11, 21),
            summary="The draft still needs signatures.",
            agreement=self.agreement,
            source=self.source,
        )
        self.internal_statement = Statement.objects.create(
            person=self.speaker,
            said_on=datetime.date(2012, 11, 22),
            summary="Off the record remark.",
            visibility=Visibility.INTERNAL,
        )

    def create(self, record):
        services.record_creation(
            record, by=self.editor, effective_on=datetime.date(2012, 11, 19), source=self.source
        )
        return record


@pytest.fixture
def record(editor) -> Record:
    return Record(editor)


@pytest.fixture
def login(client):
    def log_in(user: User):
        client.force_login(user)
        return client

    return log_in


class Negotiation:
    """The record's clauses with texts and positions: clause 1 agreed by both on version 2
    after a counter-proposal (ESA had accepted version 1); clause 2 accepted ad referendum
    by ESA and reserved (scrutiny) by Roscosmos; the internal clause with a text."""

    ROUND_ONE = datetime.date(2012, 11, 12)
    ROUND_TWO = datetime.date(2012, 11, 19)

    def __init__(self, record: Record):
        self.record = record
        by = record.editor
        self.v1 = services.add_clause_version(
            record.clause,
            text="Roscosmos supplies a Proton launcher for the 2016 launch.",
            by=by,
            proposed_by=record.roscosmos,
            proposed_on=self.ROUND_ONE,
        )
        self.v2 = services.add_clause_version(
            record.clause,
            text="Roscosmos supplies a Proton launcher for the 2016 launch and another for 2018.",
            by=by,
            proposed_by=record.esa,
            kind="counter_proposal",
            proposed_on=self.ROUND_TWO,
            source=record.source,
        )
        self.second_v1 = services.add_clause_version(
            record.second_clause,
            text="Roscosmos contributes two instruments.",
            by=by,
            proposed_on=self.ROUND_ONE,
        )
        self.internal_v1 = services.add_clause_version(
            record.internal_clause, text="Our fallback text.", by=by, proposed_on=self.ROUND_ONE
        )
        self.esa_accepts_v1 = self.position(
            record.esa, record.clause, "accepts", self.ROUND_ONE, version=self.v1
        )
        self.esa_accepts = self.position(record.esa, record.clause, "accepts", self.ROUND_TWO)
        self.roscosmos_accepts = self.position(
            record.roscosmos, record.clause, "accepts", self.ROUND_TWO, source=record.source
        )
        self.esa_accepts_second = self.position(
            record.esa, record.second_clause, "accepts_ad_referendum", self.ROUND_ONE
        )
        self.reservation = self.position(
            record.roscosmos,
            record.second_clause,
            "reserves",
            self.ROUND_TWO,
            reservation="scrutiny",
        )
        # A party's confidential position, seen by staff only, on a topic both negotiate.
        record.topic.parties.set([record.esa, record.roscosmos])
        self.internal_position = services.record_position(
            record.roscosmos,
            topic=record.topic,
            stance="reserves",
            reservation="substantive",
            taken_on=self.ROUND_TWO,
            internal=True,
            by=by,
        )

    def position(self, party, clause, stance, day, **extra):
        return services.record_position(
            party, clause=clause, stance=stance, taken_on=day, by=self.record.editor, **extra
        )


@pytest.fixture
def negotiation(record) -> Negotiation:
    return Negotiation(record)
