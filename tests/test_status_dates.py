"""The dates and sources a status change may have: checked in `change_status` itself, so
that the admin form, its bulk action, the demo loader and any script get the same refusals."""

import datetime

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from agreements import services
from agreements.models import Clause, StatusChange
from tests.test_admin import clause_form

AS_OF = datetime.date(2012, 11, 26)


@pytest.fixture(autouse=True)
def replayed(settings):
    settings.TRACKER_AS_OF = AS_OF


def admin_url(name: str, *args) -> str:
    return reverse(f"admin:agreements_{name}", args=args)


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_a_date_after_today_is_refused(record):
    with pytest.raises(services.StatusChangeError, match="after today"):
        services.change_status(
            record.clause, to="pending", by=record.editor, effective_on=datetime.date(2030, 1, 1)
        )
    assert Clause.objects.get(pk=record.clause.pk).status == "draft"


def test_a_date_before_the_last_change_is_refused_naming_the_date_to_follow(record):
    with pytest.raises(services.StatusChangeError) as refused:
        services.change_status(
            record.clause,
            to="signed",
            by=record.editor,
            effective_on=datetime.date(2012, 1, 1),
            source=record.source,
        )
    assert str(refused.value) == (
        "The effective date must be on or after 19 Nov 2012, this clause's last change."
    )
    assert refused.value.field == "effective_on"
    assert record.clause.status_changes.count() == 1


def test_the_same_day_as_the_last_change_is_accepted(record):
    change = services.change_status(
        record.clause, to="pending", by=record.editor, effective_on=datetime.date(2012, 11, 19)
    )
    assert change.effective_on == datetime.date(2012, 11, 19)


def test_an_unset_date_is_the_clock_s_today(record):
    change = services.change_status(record.clause, to="pending", by=record.editor)
    assert change.effective_on == AS_OF


@pytest.mark.parametrize(
    ("subject", "to"),
    [("clause", "signed"), ("agreement", "signed"), ("potential", "secured"), ("topic", "agreed")],
)
def test_a_settling_status_needs_a_source_or_says_it_has_none(record, subject, to):
    subject = getattr(record, subject)
    with pytest.raises(services.StatusChangeError, match="source"):
        services.change_status(subject, to=to, by=record.editor)
    change = services.change_status(subject, to=to, by=record.editor, no_source_yet=True)
    assert change.no_source_yet and change.source is None


def test_readers_see_that_a_change_has_no_source_yet(record, stakeholder, login):
    services.change_status(record.clause, to="signed", by=record.editor, no_source_yet=True)
    page = login(stakeholder).get(record.clause.get_absolute_url()).text
    assert "No source yet" in page


def test_the_form_wants_a_date_when_the_status_changes_and_says_its_format(record, login, editor):
    response = login(editor).post(
        admin_url("clause_change", record.clause.pk), clause_form(record.clause, status="pending")
    )
    assert response.status_code == 200
    assert "YYYY-MM-DD, for example 2013-03-14." in response.text
    assert Clause.objects.get(pk=record.clause.pk).status == "draft"


def test_the_form_starts_with_an_empty_date_and_offers_to_add_a_source(record, login, editor):
    page = login(editor).get(admin_url("clause_change", record.clause.pk)).text
    assert 'name="status_effective_on" value=' not in page
    assert 'id="add_id_status_source"' in page


def test_the_form_shows_the_limit_on_the_date_field(record, login, editor):
    response = login(editor).post(
        admin_url("clause_change", record.clause.pk),
        clause_form(record.clause, status="pending", status_effective_on="2012-01-01"),
    )
    assert response.status_code == 200
    assert "on or after 19 Nov 2012, this clause&#x27;s last change" in response.text
    assert record.clause.status_changes.count() == 1


def test_the_form_refuses_a_signature_without_a_source(record, login, editor):
    response = login(editor).post(
        admin_url("clause_change", record.clause.pk),
        clause_form(record.clause, status="signed", status_effective_on="2012-11-20"),
    )
    assert response.status_code == 200
    assert "there is no source yet" in response.text
    assert Clause.objects.get(pk=record.clause.pk).status == "draft"


def test_after_saving_the_message_restates_the_change(record, login, editor):
    response = login(editor).post(
        admin_url("clause_change", record.clause.pk),
        clause_form(
            record.clause,
            status="signed",
            status_effective_on="2012-11-20",
            status_source=record.source.pk,
        ),
    )
    assert response.status_code == 302
    assert (
        "Clause 1 · Proton launchers: Draft → Signed, effective 20 Nov 2012, "
        "source: Report on the draft" in " ".join(messages_of(response))
    )


def test_the_bulk_action_names_each_record_whose_history_is_later(record, login, editor):
    services.change_status(
        record.second_clause, to="pending", by=editor, effective_on=datetime.date(2012, 11, 25)
    )
    response = login(editor).post(
        admin_url("clause_changelist"),
        {
            "action": "change_status_of_selected",
            "_selected_action": [record.clause.pk, record.second_clause.pk],
            "apply": "1",
            "status": "withdrawn",
            "status_effective_on": "2012-11-22",
        },
        follow=True,
    )
    text = response.text
    assert "on or after 25 Nov 2012" in text
    assert Clause.objects.get(pk=record.second_clause.pk).status == "pending"
    assert Clause.objects.get(pk=record.clause.pk).status == "withdrawn"


def test_the_bulk_action_refuses_a_future_date_on_the_form(record, login, editor):
    before = StatusChange.objects.count()
    response = login(editor).post(
        admin_url("clause_changelist"),
        {
            "action": "change_status_of_selected",
            "_selected_action": [record.clause.pk],
            "apply": "1",
            "status": "pending",
            "status_effective_on": "2030-01-01",
        },
    )
    assert response.status_code == 200
    assert "after today" in response.text
    assert StatusChange.objects.count() == before


def test_deleting_a_record_with_history_says_to_retire_it_with_a_status(record, login, editor):
    response = login(editor).get(admin_url("clause_delete", record.clause.pk))
    assert "retire it with a status" in response.text
