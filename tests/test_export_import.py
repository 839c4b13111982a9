"""The record survives an export and an import into an empty database."""

import json

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from agreements.models import Clause, FundingSource, StatusChange
from agreements.record_io import RECORD_MODELS, export_record, import_record
from agreements.roles import ensure_roles


def snapshot() -> dict[str, list]:
    return export_record()["records"]


@pytest.mark.django_db(transaction=True)
def test_the_round_trip_gives_back_the_same_record(record, editor, tmp_path):
    from agreements import services

    services.change_status(record.clause, to="pending", by=editor, note="Ministers agreed")
    before = snapshot()
    path = tmp_path / "record.json"
    call_command("export_record", str(path))

    call_command("flush", "--no-input")
    assert not StatusChange.objects.exists()

    call_command("import_record", str(path))
    assert snapshot() == before
    clause = Clause.objects.get(pk=record.clause.pk)
    assert clause.status == "pending"
    assert clause.status_changes.first().recorded_by.username == "editor"
    assert FundingSource.objects.get(pk=record.secured.pk).amount == record.secured.amount

    # New rows after an import do not collide with the imported keys.
    created = services.change_status(
        clause, to="signed", by=User.objects.get(username="editor"), no_source_yet=True
    )
    assert created.pk > max(row["pk"] for row in before["agreements.statuschange"])


def test_the_export_has_no_secrets(record):
    data = json.dumps(export_record())
    assert "pbkdf2" not in data
    assert "password" not in data
    assert "feed_token" not in data


def test_the_export_names_its_format_and_version(record):
    data = export_record()
    assert data["format"] == "negotiation-tracker-record"
    assert data["version"] == 1
    assert set(data["records"]) == {model._meta.label_lower for model in RECORD_MODELS}


def test_an_import_into_a_database_with_a_record_is_refused(record, tmp_path):
    path = tmp_path / "record.json"
    path.write_text(json.dumps(export_record()))
    count = StatusChange.objects.count()
    with pytest.raises(CommandError, match="empty"):
        call_command("import_record", str(path))
    assert StatusChange.objects.count() == count


@pytest.mark.django_db
@pytest.mark.parametrize(
    "content", ["not json", json.dumps({"format": "other"}), json.dumps([1, 2])]
)
def test_a_file_that_is_not_an_export_is_refused(tmp_path, content):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(CommandError):
        call_command("import_record", str(path))


@pytest.mark.django_db
def test_a_newer_version_is_refused_with_a_clear_message():
    with pytest.raises(Exception, match="version"):
        import_record({"format": "negotiation-tracker-record", "version": 99})


def test_the_export_costs_the_same_queries_however_many_rows(record, editor):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from agreements import services
    from agreements.models import Agreement, Topic

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            export_record()
        return len(captured)

    few = queries()
    for n in range(5):
        agreement = Agreement.objects.create(title=f"Annex {n}", slug=f"annex-{n}")
        agreement.parties.set([record.esa, record.roscosmos])
        topic = Topic.objects.create(title=f"Side topic {n}", slug=f"side-topic-{n}")
        topic.parties.set([record.esa])
        services.change_status(topic, to="in_discussion", by=editor)
    assert queries() == few


@pytest.mark.django_db
def test_an_import_gives_no_roles_to_an_account_that_already_exists(outsider):
    ensure_roles()  # a transactional test may have flushed the groups the migration made
    import_record(
        {
            "format": "negotiation-tracker-record",
            "version": 1,
            "users": [
                {"username": "outsider", "is_staff": True, "groups": ["Editors"]},
                {"username": "newcomer", "groups": ["Stakeholders"]},
            ],
            "records": {},
        }
    )

    outsider.refresh_from_db()
    assert not outsider.groups.exists() and not outsider.is_staff
    newcomer = User.objects.get(username="newcomer")
    assert list(newcomer.groups.values_list("name", flat=True)) == ["Stakeholders"]


@pytest.mark.django_db(transaction=True)
def test_versions_and_positions_round_trip(negotiation, record, editor, tmp_path):
    from agreements import services
    from agreements.models import ClauseVersion, Position

    def levels(user) -> dict[int, str]:
        return {c.pk: c.level for c in Clause.objects.visible_to(user).with_levels()}

    confidential = negotiation.position(
        record.esa, record.clause, "reserves", None, reservation="substantive", internal=True
    )
    before, levels_before = snapshot(), levels(editor)
    path = tmp_path / "record.json"
    call_command("export_record", str(path))
    call_command("flush", "--no-input")
    assert not Position.objects.exists()

    call_command("import_record", str(path))
    assert snapshot() == before
    editor = User.objects.get(username="editor")
    assert levels(editor) == levels_before
    assert Position.objects.get(pk=confidential.pk).is_internal
    assert ClauseVersion.objects.get(pk=negotiation.v2.pk).recorded_by == editor
    clause = Clause.objects.get(pk=record.clause.pk)
    assert clause.text == negotiation.v2.text
    # A new version after the import takes the next number and a fresh key.
    version = services.add_clause_version(clause, text="After the import.", by=editor)
    assert version.number == 3


@pytest.mark.django_db(transaction=True)
def test_links_round_trip(record, editor, tmp_path):
    from agreements import services
    from agreements.models import Link, LinkKind

    services.record_link(
        record.agreement, LinkKind.BLOCKED_BY, record.potential, by=editor, note="Money first"
    )
    services.record_link(record.clause, LinkKind.PACKAGE, record.second_clause, by=editor)
    before = snapshot()
    assert len(before["agreements.link"]) == 2
    path = tmp_path / "record.json"
    call_command("export_record", str(path))
    call_command("flush", "--no-input")
    assert not Link.objects.exists()

    call_command("import_record", str(path))
    assert snapshot() == before
    link = Link.objects.get(kind=LinkKind.BLOCKED_BY)
    assert (link.agreement_id, link.to_funding_source_id) == (
        record.agreement.pk,
        record.potential.pk,
    )
    assert link.recorded_by.username == "editor"
