"""The audit trail: every write to a record table leaves an event, whoever makes it and
however; the events cannot be rewritten; editors read them in the admin, nobody else."""

import datetime
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from agreements import audit_trail
from agreements.database_guards import ALL_AUDIT_TABLES, APPEND_ONLY, RUNTIME_PRIVILEGES
from agreements.demo import load_demo
from agreements.models import EVENT_MODELS, Clause, FundingSource
from agreements.models.audit import ClauseEvent, FundingSourceEvent
from agreements.record_io import export_record
from tests.test_admin import clause_form, url


def latest(event_model, obj):
    return event_model.objects.filter(pgh_obj_id=obj.pk).latest("pgh_id")


def test_every_record_table_is_audited():
    from agreements.models import ClauseVersion, Position, StatusChange
    from agreements.record_io import RECORD_MODELS

    audited = set(EVENT_MODELS)
    for model in RECORD_MODELS:
        if model in (StatusChange, ClauseVersion, Position):
            continue  # append-only itself, with who recorded each row: its own history
        assert model in audited, model
        for m2m in model._meta.local_many_to_many:
            assert m2m.remote_field.through in audited
    assert sorted(m._meta.db_table for m in EVENT_MODELS.values()) == sorted(ALL_AUDIT_TABLES)


def test_a_title_edited_in_the_admin_names_field_values_editor_and_reason(record, login, editor):
    client = login(editor)
    form = clause_form(record.clause, title="Proton-M launchers", audit_reason="Typo in draft")
    assert client.post(url("clause_change", record.clause.pk), form).status_code == 302
    event = latest(ClauseEvent, record.clause)
    assert event.pgh_label == "update"
    assert event.pgh_diff == {"title": ["Proton launchers", "Proton-M launchers"]}
    assert event.pgh_context["user"] == editor.pk
    assert event.pgh_context["reason"] == "Typo in draft"
    assert event.pgh_context["url"] == url("clause_change", record.clause.pk)


def test_an_amount_changed_with_queryset_update_is_recorded(record):
    FundingSource.objects.filter(pk=record.secured.pk).update(amount=Decimal("45000000.50"))
    event = latest(FundingSourceEvent, record.secured)
    assert event.pgh_diff == {"amount": ["30000000.00", "45000000.50"]}


def test_a_row_changed_with_raw_sql_is_recorded(record):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE agreements_clause SET text = 'Two Proton launches.' WHERE id = %s",
            [record.clause.pk],
        )
    event = latest(ClauseEvent, record.clause)
    assert event.pgh_diff == {"text": ["", "Two Proton launches."]}
    assert event.pgh_context is None  # nothing from the application: a database session
    assert audit_trail.origin_of(event.pgh_context).startswith("outside the application")


def test_a_save_that_changes_nothing_is_no_event(record):
    before = ClauseEvent.objects.count()
    Clause.objects.get(pk=record.clause.pk).save()
    assert ClauseEvent.objects.count() == before


def test_creation_deletion_and_parties_are_recorded(record, editor):
    clause = Clause.objects.create(agreement=record.agreement, reference="9", title="Spare")
    assert latest(ClauseEvent, clause).pgh_label == "insert"
    pk = clause.pk
    clause.delete()
    assert ClauseEvent.objects.filter(pgh_obj_id=pk).latest("pgh_id").pgh_label == "delete"
    record.agreement.parties.remove(record.roscosmos)
    history = audit_trail.field_history(record.agreement)
    assert history[0].action == "party removed"
    assert history[0].changes[0].old == "Roscosmos"


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE {table} SET pgh_label = 'x'",
        "DELETE FROM {table}",
    ],
)
@pytest.mark.parametrize("table", ["agreements_clauseevent", "agreements_agreementpartiesevent"])
def test_the_database_refuses_to_rewrite_audit_events(record, sql, table):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql.format(table=table))


def test_no_client_can_skip_the_audit_triggers(record):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'agreements_clause'::regclass"
        )
        names = "{" + ",".join(row[0] for row in cursor.fetchall()) + "}"
        cursor.execute("SELECT set_config('pgtrigger.ignore', %s, true)", [names])
        cursor.execute(
            "UPDATE agreements_clause SET title = 'Unseen?' WHERE id = %s", [record.clause.pk]
        )
    assert latest(ClauseEvent, record.clause).pgh_diff["title"][1] == "Unseen?"


def test_the_runtime_role_may_only_read_and_add_audit_events():
    assert all(RUNTIME_PRIVILEGES[table] == APPEND_ONLY for table in ALL_AUDIT_TABLES)


def test_the_admin_shows_a_record_s_field_level_history(record, login, editor):
    client = login(editor)
    long_text = "Roscosmos provides two Proton launchers for the 2016 and 2018 missions."
    form = clause_form(record.clause, text=long_text, audit_reason="First draft text")
    client.post(url("clause_change", record.clause.pk), form)
    form = clause_form(
        Clause.objects.get(pk=record.clause.pk),
        text=long_text.replace("two", "three"),
        obligated_party=record.esa.pk,
    )
    client.post(url("clause_change", record.clause.pk), form)
    page = client.get(url("clause_change", record.clause.pk)).text
    assert "Field-level history" in page
    assert "First draft text" in page
    # A long text as a word-level redline; a link by the linked record's name.
    assert "<del>" in page and "two" in page and "three" in page
    assert "<del>Roscosmos</del> → <ins>ESA</ins>" in page


def test_the_history_costs_the_same_for_many_events(
    record, login, editor, django_assert_max_num_queries
):
    client = login(editor)
    page = url("clause_change", record.clause.pk)
    client.get(page)
    with django_assert_max_num_queries(40) as few:
        client.get(page)
    for number in range(30):
        Clause.objects.filter(pk=record.clause.pk).update(title=f"Title {number}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(page)


def test_the_bulk_action_asks_for_the_reason_once(record, login, editor):
    from tests.test_admin import bulk_action

    login(editor).post(
        url("clause_changelist"),
        bulk_action(
            record.clause,
            record.second_clause,
            status="pending",
            status_effective_on="2012-11-22",  # needed since issue 17
            audit_reason="Council met",
        ),
    )
    for clause in (record.clause, record.second_clause):
        event = latest(ClauseEvent, clause)
        assert event.pgh_diff["status"] == ["draft", "pending"]
        assert event.pgh_context["reason"] == "Council met"


def test_the_audit_trail_lists_recent_edits_filtered(record, login, editor, superuser):
    Clause.objects.filter(pk=record.clause.pk).update(title="Edited by the shell")
    client = login(editor)
    client.post(
        url("clause_change", record.second_clause.pk),
        clause_form(record.second_clause, title="Edited by the editor"),
    )
    trail = reverse("audit_trail")
    page = client.get(trail).text
    assert "Edited by the shell" in page and "Edited by the editor" in page
    mine = client.get(trail, {"editor": editor.pk, "kind": "clause"}).text
    assert "Edited by the editor" in mine and "Edited by the shell" not in mine
    assert "Proton launchers" not in client.get(trail, {"kind": "party"}).text
    tomorrow = datetime.date.today() + datetime.timedelta(days=2)
    assert "0 edits" in client.get(trail, {"since": tomorrow.isoformat()}).text


@pytest.mark.parametrize("bad", [{"since": "not a date"}, {"kind": "nope"}, {"editor": "x"}])
def test_the_audit_trail_refuses_bad_filters_with_a_form_error(record, login, editor, bad):
    response = login(editor).get(reverse("audit_trail"), bad)
    assert response.status_code == 200
    assert "errornote" in response.text


def test_the_audit_trail_costs_the_same_for_many_edits(
    record, login, editor, django_assert_max_num_queries
):
    client = login(editor)
    trail = reverse("audit_trail")
    client.get(trail)
    with django_assert_max_num_queries(30) as few:
        client.get(trail)
    for number in range(60):
        Clause.objects.filter(pk=record.clause.pk).update(title=f"Title {number}")
        FundingSource.objects.filter(pk=record.secured.pk).update(amount=number)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(trail)


@pytest.mark.parametrize("reader", ["stakeholder", "manager", "outsider"])
def test_readers_never_see_the_audit_trail(record, login, request, reader):
    client = login(request.getfixturevalue(reader))
    response = client.get(reverse("audit_trail"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_reader_pages_do_not_touch_the_audit_context(record, login, stakeholder):
    """A read makes no write and sets no audit context: the pages cost what they did."""
    client = login(stakeholder)
    with transaction.atomic():
        response = client.get(reverse("agreements:dashboard"))
    assert response.status_code == 200
    assert not hasattr(audit_trail.pghistory.runtime._tracker, "value")


def test_load_demo_and_import_record_tag_their_events(db):
    load_demo()
    event = ClauseEvent.objects.earliest("pgh_id")
    assert event.pgh_context["command"] == "load_demo"
    assert event.pgh_context["user"] is not None  # the demo editor


def test_the_export_holds_no_audit_event(record):
    exported = export_record()
    assert not any("event" in label for label in exported["records"])
