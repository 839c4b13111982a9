"""A clause: its text, who it binds, its status and its whole history."""

import datetime

import pytest

from agreements import services
from agreements.models import Party, Source, Visibility


def url(clause) -> str:
    return f"/clauses/{clause.pk}/"


def test_it_shows_text_obligated_party_and_status(record, stakeholder, login):
    services.add_clause_version(
        record.clause,
        text="Roscosmos provides two Proton launchers.\n\nOne for each launch.",
        by=record.editor,
    )
    content = login(stakeholder).get(url(record.clause)).content.decode()
    assert "<p>Roscosmos provides two Proton launchers.</p>" in content
    assert "<dd>Roscosmos</dd>" in content
    assert '<span class="badge status-draft">Draft</span>' in content
    assert 'href="/agreements/exomars-cooperation/"' in content


def test_the_history_says_from_to_who_when_why_and_where_from(record, stakeholder, login):
    record.editor.first_name, record.editor.last_name = "Erin", "Editor"
    record.editor.save()
    source = Source.objects.create(
        title="Minutes of the meeting", url="https://example.org/minutes"
    )
    services.change_status(
        record.clause,
        to="pending",
        by=record.editor,
        effective_on=datetime.date(2012, 12, 3),
        note="Sent to both sides for signature",
        source=source,
    )
    content = login(stakeholder).get(url(record.clause)).content.decode()
    history = content[content.index('id="history"') :]
    assert '<span class="badge status-draft">Draft</span>' in history
    assert '<span class="badge status-pending">Pending signature</span>' in history
    assert "Erin Editor" in history
    assert "3 Dec 2012" in history
    assert "Sent to both sides for signature" in history
    link = '<a href="https://example.org/minutes" rel="noopener noreferrer external">'
    assert f"{link}Minutes of the meeting</a>" in history
    # Newest first: the change comes before the creation line.
    assert history.index("3 Dec 2012") < history.index("19 Nov 2012")


def test_an_internal_source_of_a_change_is_not_named_to_readers(record, stakeholder, editor, login):
    secret = Source.objects.create(title="Back-channel call", visibility=Visibility.INTERNAL)
    services.change_status(record.clause, to="pending", by=record.editor, source=secret)
    assert "Back-channel call" not in login(stakeholder).get(url(record.clause)).content.decode()
    assert "Back-channel call" in login(editor).get(url(record.clause)).content.decode()


def test_a_javascript_source_address_is_not_a_link(record, stakeholder, login):
    odd = Source.objects.create(title="Odd address", url="javascript:alert(1)")
    services.change_status(record.clause, to="pending", by=record.editor, source=odd)
    content = login(stakeholder).get(url(record.clause)).content.decode()
    assert "Odd address" in content
    assert "javascript:" not in content


def test_an_internal_obligated_party_is_not_named(record, stakeholder, login):
    record.second_clause.obligated_party = Party.objects.create(
        name="Quiet partner", slug="quiet", visibility=Visibility.INTERNAL
    )
    record.second_clause.save()
    assert "Quiet partner" not in login(stakeholder).get(url(record.second_clause)).content.decode()


@pytest.mark.parametrize("clause", ["internal_clause", "clause_of_internal_agreement"])
def test_an_internal_clause_is_404_for_stakeholders(record, stakeholder, login, clause):
    assert login(stakeholder).get(url(getattr(record, clause))).status_code == 404


@pytest.mark.parametrize("clause", ["internal_clause", "clause_of_internal_agreement"])
def test_editors_read_internal_clauses(record, editor, login, clause):
    assert login(editor).get(url(getattr(record, clause))).status_code == 200


@pytest.mark.parametrize("pk", ["999999", "99999999999999999999999"])
def test_an_unknown_clause_is_404_even_beyond_the_integer_range(record, stakeholder, login, pk):
    assert login(stakeholder).get(f"/clauses/{pk}/").status_code == 404


def test_managers_read_clauses(record, manager, login):
    assert login(manager).get(url(record.clause)).status_code == 200


def test_outsiders_get_403(record, outsider, login):
    assert login(outsider).get(url(record.clause)).status_code == 403


def test_anonymous_is_sent_to_login(client, record):
    assert client.get(url(record.clause))["Location"].startswith("/accounts/login/")
    htmx = client.get(url(record.clause), headers={"HX-Request": "true"})
    assert htmx["HX-Redirect"].startswith("/accounts/login/")


def test_htmx_gets_the_history_fragment(record, stakeholder, login):
    response = login(stakeholder).get(url(record.clause), headers={"HX-Request": "true"})
    content = response.content.decode()
    assert "<html" not in content
    assert content.strip().startswith('<section id="history"')
    assert "HX-Request" in response["Vary"]


def test_a_boosted_request_gets_the_whole_page(record, stakeholder, login):
    response = login(stakeholder).get(
        url(record.clause), headers={"HX-Request": "true", "HX-Boosted": "true"}
    )
    assert b"<html" in response.content
