"""Invariant 1: no status changes without its StatusChange row, written by one service."""

import datetime

import pytest
from django.db import IntegrityError, connection, transaction

from agreements import services
from agreements.models import (
    Clause,
    HistoryIsAppendOnly,
    StatusChange,
    StatusWriteRefused,
)


def test_it_writes_one_history_row_with_who_when_and_where(record, editor):
    change = services.change_status(
        record.clause,
        to=Clause.Status.PENDING,
        by=editor,
        note="Ministers backed the draft",
        effective_on=datetime.date(2012, 11, 20),
        source=record.source,
    )
    record.clause.refresh_from_db()
    assert record.clause.status == "pending"
    assert change.from_status == "draft"
    assert change.to_status == "pending"
    assert change.recorded_by == editor
    assert change.effective_on == datetime.date(2012, 11, 20)
    assert change.source == record.source
    assert change.clause == record.clause
    assert change.kind == "clause"
    assert record.clause.status_changes.count() == 2  # creation + this change


def test_it_refuses_an_unknown_status(record, editor):
    before = StatusChange.objects.count()
    with pytest.raises(services.StatusChangeError):
        services.change_status(record.clause, to="ratified", by=editor)
    record.clause.refresh_from_db()
    assert record.clause.status == "draft"
    assert StatusChange.objects.count() == before


def test_it_refuses_an_unchanged_status(record, editor):
    before = StatusChange.objects.count()
    with pytest.raises(services.StatusChangeError, match="already"):
        services.change_status(record.clause, to=Clause.Status.DRAFT, by=editor)
    assert StatusChange.objects.count() == before


def test_it_reads_the_committed_status_not_a_stale_copy(record, editor):
    stale = Clause.objects.get(pk=record.clause.pk)
    services.change_status(record.clause, to=Clause.Status.PENDING, by=editor)
    change = services.change_status(stale, to=Clause.Status.SIGNED, by=editor, source=record.source)
    assert change.from_status == "pending"


def test_saving_a_changed_status_without_the_service_is_refused(record):
    clause = Clause.objects.get(pk=record.clause.pk)
    clause.status = Clause.Status.SIGNED
    with pytest.raises(StatusWriteRefused):
        clause.save()
    clause.refresh_from_db()
    assert clause.status == "draft"


def test_a_bulk_status_update_is_refused(record):
    with pytest.raises(StatusWriteRefused):
        Clause.objects.filter(pk=record.clause.pk).update(status="signed")
    assert Clause.objects.get(pk=record.clause.pk).status == "draft"


def test_other_fields_save_normally(record):
    clause = Clause.objects.get(pk=record.clause.pk)
    clause.title = "Proton launchers for both launches"
    clause.save()
    assert Clause.objects.get(pk=record.clause.pk).title == "Proton launchers for both launches"


def test_history_rows_cannot_be_edited(record):
    change = StatusChange.objects.first()
    change.note = "rewritten"
    with pytest.raises(HistoryIsAppendOnly):
        change.save()
    with pytest.raises(HistoryIsAppendOnly):
        StatusChange.objects.filter(pk=change.pk).update(note="rewritten")
    assert StatusChange.objects.get(pk=change.pk).note == ""


def test_history_rows_cannot_be_deleted(record):
    count = StatusChange.objects.count()
    with pytest.raises(HistoryIsAppendOnly):
        StatusChange.objects.first().delete()
    with pytest.raises(HistoryIsAppendOnly):
        StatusChange.objects.all().delete()
    assert StatusChange.objects.count() == count


def test_a_record_with_history_cannot_be_deleted(record):
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        Clause.objects.get(pk=record.second_clause.pk).delete()
    assert Clause.objects.filter(pk=record.second_clause.pk).exists()


def test_the_database_refuses_raw_sql_edits_and_deletes_of_history(record):
    change = StatusChange.objects.first()
    for sql in (
        "UPDATE agreements_statuschange SET note = 'x' WHERE id = %s",
        "DELETE FROM agreements_statuschange WHERE id = %s",
    ):
        with (
            pytest.raises(Exception, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [change.pk])
    assert StatusChange.objects.filter(pk=change.pk, note="").exists()


def test_a_history_row_must_name_exactly_one_subject(record, editor):
    with pytest.raises(IntegrityError), transaction.atomic():
        StatusChange.objects.create(
            kind="clause",
            clause=record.clause,
            topic=record.topic,
            to_status="signed",
            from_status="draft",
            recorded_by=editor,
            effective_on=datetime.date(2012, 11, 19),
        )


def test_creation_records_the_first_status(record):
    first = record.topic.status_changes.get()
    assert first.from_status == ""
    assert first.to_status == "proposed"
    assert first.recorded_by == record.editor
