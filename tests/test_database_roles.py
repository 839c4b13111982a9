"""The database keeps the history append-only whoever connects: TRUNCATE is refused by a
trigger, and the app's runtime role may only read and add history rows.

Roles belong to the whole server. These are created inside the test's transaction, which
is rolled back at its end: they never outlive the test, even if it fails.
"""

import datetime
import os

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from agreements import digests, services
from agreements.database_guards import ALL_AUDIT_TABLES, RUNTIME_PRIVILEGES
from agreements.models import DigestItem, StatusChange, Subscription

APPEND_ONLY_TABLES = [
    "agreements_statuschange",
    "agreements_clauseversion",
    "agreements_position",
    "agreements_digestdelivery",
    "agreements_digestitem",
    *ALL_AUDIT_TABLES,
]


class KeepNothing(Exception):
    pass


def as_role(role: str, action) -> DatabaseError | None:
    """Run `action()` as `role` in a savepoint that is then rolled back: the error the
    database raised, or None. The role ends with the savepoint."""
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL ROLE {connection.ops.quote_name(role)}")
            action()
            raise KeepNothing
    except KeepNothing:
        return None
    except DatabaseError as error:
        return error


def sql(statement: str, params=()):
    def run() -> None:
        with connection.cursor() as cursor:
            cursor.execute(statement, params)

    return run


def new_role(kind: str) -> str:
    # Unique on the server, which other test runs may share at the same time.
    name = f"tracker_test_{kind}_{os.getpid()}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {name} NOLOGIN")
    return name


@pytest.fixture
def runtime_role(db) -> str:
    role = new_role("runtime")
    call_command("grant_runtime_privileges", role, stdout=open(os.devnull, "w"))  # noqa: SIM115
    return role


@pytest.fixture
def change(record, editor) -> StatusChange:
    return services.change_status(record.clause, to="pending", by=editor)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE agreements_statuschange SET note = 'rewritten' WHERE id = %s",
        "DELETE FROM agreements_statuschange WHERE id = %s",
        "TRUNCATE agreements_statuschange CASCADE",
    ],
    ids=["update", "delete", "truncate"],
)
def test_the_runtime_role_cannot_rewrite_the_history(runtime_role, change, statement):
    params = [change.pk] if "%s" in statement else []

    error = as_role(runtime_role, sql(statement, params))

    assert error is not None and "permission denied" in str(error)
    assert StatusChange.objects.filter(pk=change.pk, note="").exists()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE agreements_digestitem SET delivery_id = delivery_id",
        "TRUNCATE agreements_digestitem",
        "TRUNCATE agreements_digestdelivery CASCADE",
        "ALTER TABLE agreements_statuschange DISABLE TRIGGER agreements_refuse_truncate",
        "DROP TABLE agreements_statuschange CASCADE",
        "INSERT INTO django_migrations (app, name, applied) VALUES ('agreements', 'x', now())",
    ],
)
def test_the_runtime_role_cannot_empty_the_ledger_or_change_the_schema(
    runtime_role, record, statement
):
    error = as_role(runtime_role, sql(statement))

    assert error is not None
    assert "permission denied" in str(error) or "must be owner" in str(error)


def test_the_app_works_as_the_runtime_role(runtime_role, record, editor, manager, mailoutbox):
    """Its writes, history and ledger included: recording a change, planning a digest,
    cancelling it (which gives its items back)."""

    def work() -> None:
        Subscription.objects.create(
            user=manager,
            frequency="daily",
            next_due_at=timezone.now() - datetime.timedelta(minutes=1),
        )
        services.change_status(record.clause, to="pending", by=editor, note="Agreed.")
        [planned] = digests.plan_due_digests(timezone.now())
        assert planned.outcome == digests.Outcome.PLANNED
        manager.email = "elsewhere@example.org"
        manager.save()
        [cancelled] = digests.send_pending_digests(timezone.now())
        assert cancelled.outcome == digests.Outcome.CANCELLED
        assert not DigestItem.objects.exists()
        assert StatusChange.objects.filter(note="Agreed.").exists()

    assert as_role(runtime_role, work) is None


@pytest.mark.parametrize("table", APPEND_ONLY_TABLES)
def test_even_a_role_allowed_to_truncate_is_refused(db, record, table):
    # As the tables' owner would be: TRUNCATE is its privilege, the trigger refuses it.
    role = new_role("owner")
    with connection.cursor() as cursor:
        cursor.execute(f"GRANT TRUNCATE ON {', '.join(APPEND_ONLY_TABLES)} TO {role}")
        # The record's foreign keys are checked at commit; TRUNCATE wants no check pending.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")

    error = as_role(role, sql(f"TRUNCATE {table} CASCADE"))

    assert error is not None and f"{table} is append-only: TRUNCATE refused" in str(error)
    assert StatusChange.objects.exists()


def test_every_append_only_table_has_the_truncate_guard(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgrelid::regclass::text FROM pg_trigger WHERE tgname = %s",
            ["agreements_refuse_truncate"],
        )
        guarded = {row[0] for row in cursor.fetchall()}
    append_only = {
        table for table, granted in RUNTIME_PRIVILEGES.items() if "UPDATE" not in granted
    }
    assert guarded == set(APPEND_ONLY_TABLES)
    assert append_only - {"django_migrations"} <= guarded


def test_the_owner_is_not_taken_for_the_runtime_role(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        (owner,) = cursor.fetchone()
    with pytest.raises(CommandError, match="owns the tables"):
        call_command("grant_runtime_privileges", owner)


def test_an_unknown_role_is_a_clear_error(db):
    with pytest.raises(CommandError, match="There is no role"):
        call_command("grant_runtime_privileges", "no_such_role_here")
