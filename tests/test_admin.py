"""The editors' admin: every status write leaves its history row, bad input changes nothing."""

import datetime
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from agreements import services
from agreements.admin import save_all_but_status
from agreements.models import (
    Agreement,
    Clause,
    FundingSource,
    Milestone,
    Person,
    Position,
    Source,
    Statement,
    StatusChange,
    Subscription,
    Topic,
    Visibility,
)

EDITABLE_MODELS = [
    "party",
    "person",
    "source",
    "programme",
    "fundingsource",
    "agreement",
    "clause",
    "topic",
    "milestone",
    "statement",
]


def url(name: str, *args) -> str:
    return reverse(f"admin:agreements_{name}", args=args)


def management_form(prefix: str) -> dict:
    """An empty inline formset: the page's inlines are part of every POST."""
    return {
        f"{prefix}-TOTAL_FORMS": "0",
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def clause_form(clause: Clause, *, seen_status: str | None = None, **changes) -> dict:
    """What the clause change form posts; `seen_status` is the status the editor loaded."""
    data = {
        "agreement": clause.agreement_id,
        "reference": clause.reference,
        "position": clause.position,
        "title": clause.title,
        "text": clause.text,
        "obligated_party": clause.obligated_party_id or "",
        "visibility": clause.visibility,
        "status": clause.status,
        "initial-status": seen_status or clause.status,
        "status_effective_on": "",
        "status_note": "",
        "status_source": "",
        **management_form("status_changes"),
        **management_form("versions"),
        **management_form("positions"),
        **management_form("links"),
        **management_form("incoming_links"),
    }
    data.update(changes)
    return data


class FormFields(HTMLParser):
    """The values a browser would post for the page's main form, as rendered."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self.select: str | None = None
        self.textarea: str | None = None

    def add(self, name: str, value: str) -> None:
        self.data.setdefault(name, []).append(value)

    def handle_starttag(self, tag: str, attrs) -> None:
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in {"submit", "checkbox"}:
            self.add(name, attrs.get("value") or "")
        elif tag == "input" and name and "checked" in attrs:
            self.add(name, attrs.get("value") or "on")
        elif tag == "select":
            self.select = name
        elif tag == "option" and self.select and "selected" in attrs:
            self.add(self.select, attrs.get("value") or "")
        elif tag == "textarea":
            self.textarea = name
            self.add(name, "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data: str) -> None:
        if self.textarea:
            self.data[self.textarea][-1] += data.removeprefix("\n")


def rendered_form(client, page: str) -> dict[str, list[str]]:
    parser = FormFields()
    parser.feed(client.get(page).text)
    return {name: values for name, values in parser.data.items() if name != "csrfmiddlewaretoken"}


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# Who gets in ------------------------------------------------------------------------------


@pytest.mark.parametrize("model", [*EDITABLE_MODELS, "statuschange", "digestdelivery"])
def test_editors_can_open_every_list(record, login, editor, model):
    assert login(editor).get(url(f"{model}_changelist")).status_code == 200


@pytest.mark.parametrize("model", EDITABLE_MODELS)
def test_editors_can_open_every_add_page(record, login, editor, model):
    assert login(editor).get(url(f"{model}_add")).status_code == 200


@pytest.mark.parametrize(
    "attribute",
    [
        "esa",
        "speaker",
        "source",
        "programme",
        "secured",
        "agreement",
        "clause",
        "topic",
        "milestone",
        "statement",
    ],
)
def test_editors_can_open_every_change_page(record, login, editor, attribute):
    obj = getattr(record, attribute)
    response = login(editor).get(url(f"{obj._meta.model_name}_change", obj.pk))
    assert response.status_code == 200


@pytest.mark.parametrize("reader", ["stakeholder", "manager", "outsider"])
def test_readers_are_kept_out_of_the_admin(record, login, request, reader):
    client = login(request.getfixturevalue(reader))
    response = client.get(url("clause_changelist"))
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_lists_keep_records_without_their_optional_links(record, login, editor):
    # The visibility column joins optional parents; a milestone with none stays listed.
    text = login(editor).get(url("milestone_changelist")).text
    assert "Internal deadline" in text
    assert "Launch of the orbiter" in text


def test_editors_cannot_manage_users(login, editor):
    assert login(editor).get(reverse("admin:auth_user_changelist")).status_code == 403


def test_the_lists_say_which_records_readers_cannot_see(record, login, editor):
    text = login(editor).get(url("clause_changelist")).text
    assert text.count("No: internal") == 1
    # Shared itself, but its agreement is internal.
    assert text.count("No: it belongs to an internal record") == 1
    assert text.count('<td class="field-shown_to">Yes</td>') == 2


# Status changes in the change form ----------------------------------------------------------


def test_a_status_changed_in_the_form_is_recorded_with_its_note_date_and_source(
    record, login, editor
):
    response = login(editor).post(
        url("clause_change", record.clause.pk),
        clause_form(
            record.clause,
            status="pending",
            status_effective_on="2012-11-20",
            status_note="Ministers backed the draft.",
            status_source=record.source.pk,
        ),
    )
    assert response.status_code == 302
    record.clause.refresh_from_db()
    assert record.clause.status == "pending"
    change = record.clause.status_changes.latest("id")
    assert (change.from_status, change.to_status) == ("draft", "pending")
    assert change.effective_on == datetime.date(2012, 11, 20)
    assert change.note == "Ministers backed the draft."
    assert change.source == record.source
    assert change.recorded_by == editor


def test_the_form_as_rendered_saves_an_edit_without_touching_the_status(
    record, login, editor, superuser
):
    client = login(editor)
    page = url("clause_change", record.clause.pk)
    form = rendered_form(client, page)
    assert form["initial-status"] == ["draft"]
    services.change_status(record.clause, to="pending", by=superuser)
    before = StatusChange.objects.count()
    form["title"] = ["Launchers"]
    assert client.post(page, form).status_code == 302
    record.clause.refresh_from_db()
    assert (record.clause.title, record.clause.status) == ("Launchers", "pending")
    assert StatusChange.objects.count() == before


def test_saving_other_fields_never_writes_the_status_column(record, superuser):
    stale = Clause.objects.get(pk=record.clause.pk)
    services.change_status(record.clause, to="signed", by=superuser, source=record.source)
    stale.title = "Launchers"
    save_all_but_status(stale)
    fresh = Clause.objects.get(pk=record.clause.pk)
    assert (fresh.title, fresh.status) == ("Launchers", "signed")


def test_saving_other_fields_writes_no_history(record, login, editor):
    before = StatusChange.objects.count()
    response = login(editor).post(
        url("clause_change", record.clause.pk),
        clause_form(record.clause, title="Proton launchers for both launches"),
    )
    assert response.status_code == 302
    record.clause.refresh_from_db()
    assert record.clause.title == "Proton launchers for both launches"
    assert record.clause.status == "draft"
    assert StatusChange.objects.count() == before


def test_a_save_that_leaves_the_status_alone_keeps_a_change_made_meanwhile(
    record, login, editor, superuser
):
    form = clause_form(record.clause, title="Launchers")  # loaded while still a draft
    services.change_status(record.clause, to="pending", by=superuser)
    response = login(editor).post(url("clause_change", record.clause.pk), form)
    assert response.status_code == 302
    record.clause.refresh_from_db()
    assert record.clause.title == "Launchers"
    assert record.clause.status == "pending"
    assert record.clause.status_changes.latest("id").recorded_by == superuser


def test_a_status_another_editor_set_first_is_reported_not_recorded_twice(
    record, login, editor, superuser
):
    form = clause_form(
        record.clause, status="pending", title="Launchers", status_effective_on="2012-11-21"
    )
    services.change_status(
        record.clause, to="pending", by=superuser, effective_on=datetime.date(2012, 11, 20)
    )
    response = login(editor).post(url("clause_change", record.clause.pk), form)
    assert response.status_code == 302
    assert any("already" in message for message in messages_of(response))
    record.clause.refresh_from_db()
    assert record.clause.title == "Launchers"
    assert record.clause.status_changes.filter(to_status="pending").count() == 1


def test_a_note_without_a_status_change_is_refused(record, login, editor):
    before = StatusChange.objects.count()
    response = login(editor).post(
        url("clause_change", record.clause.pk),
        clause_form(record.clause, title="Launchers", status_note="Nothing happened."),
    )
    assert response.status_code == 200
    assert "The status did not change" in response.text
    record.clause.refresh_from_db()
    assert record.clause.title == "Proton launchers"
    assert StatusChange.objects.count() == before


@pytest.mark.parametrize(
    "bad_input",
    [
        {"status_effective_on": "19/19/2012"},
        {"status_effective_on": "9999-12-31"},
        {"status_note": "x" * 5000},
        {"status": "ratified"},
        {"status_source": "999999"},
    ],
    ids=["malformed date", "absurd date", "oversized note", "unknown status", "unknown source"],
)
def test_bad_input_is_a_form_error_and_changes_nothing(record, login, editor, bad_input):
    before = StatusChange.objects.count()
    data = clause_form(record.clause, status="signed", title="Launchers")
    data.update(bad_input)
    response = login(editor).post(url("clause_change", record.clause.pk), data)
    assert response.status_code == 200
    assert "errornote" in response.text
    record.clause.refresh_from_db()
    assert (record.clause.status, record.clause.title) == ("draft", "Proton launchers")
    assert StatusChange.objects.count() == before


def test_adding_a_record_writes_the_first_line_of_its_history(record, login, editor):
    response = login(editor).post(
        url("topic_add"),
        {
            "title": "Lunar robotics",
            "slug": "lunar-robotics",
            "parties": [record.esa.pk, record.roscosmos.pk],
            "summary": "",
            "next_step": "",
            "visibility": Visibility.SHARED,
            "status": "in_discussion",
            "initial-status": "proposed",
            "status_effective_on": "2012-11-21",
            "status_note": "Raised beside the ministerial meeting.",
            "status_source": record.source.pk,
            **management_form("status_changes"),
            **management_form("links"),
            **management_form("incoming_links"),
        },
    )
    assert response.status_code == 302
    topic = Topic.objects.get(slug="lunar-robotics")
    assert topic.status == "in_discussion"
    assert set(topic.parties.all()) == {record.esa, record.roscosmos}
    (change,) = topic.status_changes.all()
    assert (change.from_status, change.to_status) == ("", "in_discussion")
    assert change.effective_on == datetime.date(2012, 11, 21)
    assert change.note == "Raised beside the ministerial meeting."
    assert change.recorded_by == editor


def test_a_clause_added_on_its_agreement_page_gets_its_creation_in_the_history(
    record, login, editor
):
    agreement = record.agreement
    response = login(editor).post(
        url("agreement_change", agreement.pk),
        {
            "title": agreement.title,
            "slug": agreement.slug,
            "parties": [record.esa.pk, record.roscosmos.pk],
            "programme": record.programme.pk,
            "summary": agreement.summary,
            "visibility": agreement.visibility,
            "status": agreement.status,
            "initial-status": agreement.status,
            **management_form("status_changes"),
            **management_form("links"),
            **management_form("incoming_links"),
            **management_form("clauses"),
            "clauses-TOTAL_FORMS": "1",
            "clauses-0-reference": "4",
            "clauses-0-position": "4",
            "clauses-0-title": "Entry, descent and landing module",
            "clauses-0-obligated_party": record.roscosmos.pk,
            "clauses-0-visibility": Visibility.SHARED,
        },
    )
    assert response.status_code == 302
    clause = agreement.clauses.get(reference="4")
    assert clause.status == "draft"
    (change,) = clause.status_changes.all()
    assert (change.from_status, change.to_status, change.recorded_by) == ("", "draft", editor)


# The bulk action ----------------------------------------------------------------------------


def bulk_action(*subjects, **form) -> dict:
    data = {
        "action": "change_status_of_selected",
        "_selected_action": [subject.pk for subject in subjects],
    }
    if form:
        data.update({"apply": "1", "status_effective_on": "", "status_note": "", **form})
    else:
        data["index"] = "0"  # as sent by the list page's action bar
    return data


def test_the_bulk_action_asks_for_the_note_date_and_source_before_changing_anything(
    record, login, editor
):
    before = StatusChange.objects.count()
    response = login(editor).post(
        url("clause_changelist"), bulk_action(record.clause, record.second_clause)
    )
    assert response.status_code == 200
    assert 'name="status_note"' in response.text
    assert "Orbiter instruments" in response.text
    assert StatusChange.objects.count() == before


def test_the_bulk_action_records_one_history_row_per_record_it_moves(record, login, editor):
    services.change_status(record.second_clause, to="pending", by=editor)
    response = login(editor).post(
        url("clause_changelist"),
        bulk_action(
            record.clause,
            record.second_clause,
            record.internal_clause,
            status="pending",
            status_effective_on="2012-11-22",
            status_note="Sent for signature.",
            status_source=record.source.pk,
        ),
    )
    assert response.status_code == 302
    for clause in (record.clause, record.internal_clause):
        change = clause.status_changes.latest("id")
        assert (change.from_status, change.to_status) == ("draft", "pending")
        assert change.note == "Sent for signature."
        assert change.effective_on == datetime.date(2012, 11, 22)
        assert change.source == record.source
    assert record.second_clause.status_changes.filter(to_status="pending").count() == 1
    assert any("Orbiter instruments" in message for message in messages_of(response))


def test_the_bulk_action_refuses_bad_input_and_changes_nothing(record, login, editor):
    before = StatusChange.objects.count()
    response = login(editor).post(
        url("clause_changelist"),
        bulk_action(record.clause, status="signed", status_effective_on="not a date"),
    )
    assert response.status_code == 200
    assert "errorlist" in response.text
    assert Clause.objects.get(pk=record.clause.pk).status == "draft"
    assert StatusChange.objects.count() == before


def test_the_bulk_action_works_for_funding_sources_too(record, login, editor):
    response = login(editor).post(
        url("fundingsource_changelist"),
        bulk_action(
            record.potential,
            status="secured",
            status_effective_on="2012-11-22",
            status_source=record.source.pk,
        ),
    )
    assert response.status_code == 302
    record.potential.refresh_from_db()
    assert record.potential.status == "secured"
    assert record.potential.status_changes.latest("id").from_status == "potential"


# Read-only history and ledger -----------------------------------------------------------------


def test_the_history_cannot_be_added_to_edited_or_deleted_in_the_admin(record, login, superuser):
    client = login(superuser)
    change = StatusChange.objects.filter(clause=record.clause).get()
    assert client.get(url("statuschange_add")).status_code == 403
    assert client.post(url("statuschange_delete", change.pk), {"post": "yes"}).status_code == 403
    response = client.post(url("statuschange_change", change.pk), {"note": "rewritten"})
    assert response.status_code == 403
    assert StatusChange.objects.get(pk=change.pk).note == ""


def test_the_history_page_links_each_change_to_its_record(record, login, editor):
    response = login(editor).get(url("statuschange_changelist"))
    assert url("clause_change", record.clause.pk) in response.text
    assert url("fundingsource_change", record.secured.pk) in response.text


def test_deleting_a_record_with_history_is_refused_with_an_explanation(record, login, editor):
    response = login(editor).post(url("clause_delete", record.clause.pk), {"post": "yes"})
    assert response.status_code == 200
    assert "protected" in response.text
    assert Clause.objects.filter(pk=record.clause.pk).exists()


def test_editors_change_a_subscription_without_seeing_its_feed_token(
    record, login, editor, manager
):
    subscription = Subscription(user=manager)
    token = subscription.issue_feed_token()
    subscription.save()
    client = login(editor)
    response = client.get(url("subscription_change", subscription.pk))
    assert response.status_code == 200
    assert token not in response.text
    assert subscription.feed_token_hash not in response.text
    response = client.post(
        url("subscription_change", subscription.pk),
        {
            "frequency": "off",
            "hour": "7",
            "weekday": "0",
            "language": "en",
            "follows_everything": "on",
        },
    )
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.frequency == "off"


@pytest.mark.parametrize(
    ("model", "lookup"),
    [
        ("subscription", "feed_token_hash__startswith"),
        ("subscription", "unsubscribe_generation__gte"),
        ("subscription", "user__password__startswith"),
        ("digestdelivery", "unsubscribe_url__contains"),
        ("digestdelivery", "body_text__contains"),
    ],
)
def test_the_digest_admins_refuse_lookups_they_do_not_offer(
    record, login, editor, manager, model, lookup
):
    subscription = Subscription(user=manager)
    subscription.issue_feed_token()
    subscription.save()

    response = login(editor).get(url(f"{model}_changelist"), {lookup: "a"})

    assert response.status_code == 400


def test_the_digest_admins_keep_their_own_filters(record, login, editor, manager):
    Subscription.objects.create(user=manager, frequency="daily")
    client = login(editor)
    assert (
        client.get(url("subscription_changelist"), {"frequency__exact": "daily"}).status_code == 200
    )
    for query in ({"status__exact": "sent"}, {"period_end__year": "2012"}):
        assert client.get(url("digestdelivery_changelist"), query).status_code == 200


def test_a_source_links_only_to_a_web_address(record, login, editor):
    Source.objects.create(title="Imported note", url="javascript:alert(document.domain)")
    Source.objects.create(title="Press release", url="https://example.org/release")

    text = login(editor).get(url("source_changelist")).text

    assert 'href="javascript:' not in text
    assert "javascript:alert(document.domain)" in text  # shown, as text
    assert 'href="https://example.org/release"' in text


# Derived money --------------------------------------------------------------------------------


def test_the_programme_shows_both_uncovered_amounts(record, login, editor):
    client = login(editor)
    # 350 M in question; 30 M secured, 50 M potential, 10 M expected (internal: staff see it).
    for page in (url("programme_changelist"), url("programme_change", record.programme.pk)):
        text = client.get(page).text
        # Written as the reader pages write it (agreements.models.money).
        assert "EUR 260,000,000" in text
        assert "EUR 320,000,000" in text


def test_approximate_dates_are_shown_as_precisely_as_they_are_known(record, login, editor):
    client = login(editor)
    assert '<td class="field-when">2016</td>' in client.get(url("milestone_changelist")).text
    funding = client.get(url("fundingsource_changelist")).text
    assert '<td class="field-decision">February 2013</td>' in funding


# Query counts ---------------------------------------------------------------------------------


def add_rows(record, count: int) -> None:
    """More of everything, each linked the way the lists show it."""
    for n in range(count):
        clause = record.create(
            Clause(
                agreement=record.agreement,
                reference=f"extra-{n}",
                title=f"Extra clause {n}",
                obligated_party=record.esa,
            )
        )
        services.change_status(clause, to="pending", by=record.editor, source=record.source)
        record.create(Agreement(title=f"Annex {n}", slug=f"annex-{n}", programme=record.programme))
        record.create(Topic(title=f"Topic {n}", slug=f"topic-{n}"))
        record.create(
            FundingSource(
                programme=record.programme,
                title=f"Pledge {n}",
                contributor=record.roscosmos,
                amount=Decimal(n),
            )
        )
        person = Person.objects.create(name=f"Delegate {n}", party=record.roscosmos)
        Statement.objects.create(
            person=person,
            said_on=datetime.date(2012, 11, 23),
            summary="More talks.",
            agreement=record.agreement,
            topic=record.topic,
            source=record.source,
        )
        Milestone.objects.create(
            title=f"Meeting {n}",
            happens_on=datetime.date(2013, 3, 1),
            agreement=record.agreement,
            topic=record.topic,
            programme=record.programme,
        )


@pytest.mark.parametrize(
    "model",
    [
        "person",
        "programme",
        "fundingsource",
        "agreement",
        "clause",
        "topic",
        "milestone",
        "statement",
        "statuschange",
    ],
)
def test_a_list_issues_the_same_number_of_queries_whatever_the_number_of_rows(
    record, login, editor, model
):
    client = login(editor)
    page = url(f"{model}_changelist")
    client.get(page)  # sessions and content types warm up once

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(page).status_code == 200
        return len(captured)

    few = queries()
    add_rows(record, 5)
    assert queries() == few


def test_an_editor_changing_a_subscription_reschedules_it(client, editor, manager):
    from agreements.models import Subscription

    subscription = Subscription.objects.create(user=manager, frequency="off")
    client.force_login(editor)
    url = f"/admin/agreements/subscription/{subscription.pk}/change/"
    page = client.get(url)
    assert f"/subscriptions/{subscription.pk}/preview/" in page.content.decode()
    response = client.post(
        url,
        {
            "frequency": "daily",
            "hour": "7",
            "weekday": "0",
            "language": "en",
            "follows_everything": "on",
        },
    )
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.frequency == "daily"
    assert subscription.next_due_at is not None


# The negotiation: versions and positions, through their services -----------------------------


def test_a_new_text_in_the_clause_form_adds_a_version(record, login, editor):
    services.add_clause_version(record.clause, text="First text.", by=editor)
    record.clause.refresh_from_db()
    response = login(editor).post(
        url("clause_change", record.clause.pk),
        clause_form(
            record.clause,
            text="Second text.",
            version_proposed_by=record.esa.pk,
            version_kind="counter_proposal",
            version_proposed_on="2012-11-20",
            version_precision="day",
        ),
    )
    assert response.status_code == 302
    first, second = record.clause.versions.order_by("number")
    assert first.text == "First text." and second.text == "Second text."
    assert (second.proposed_by, second.kind) == (record.esa, "counter_proposal")
    assert second.proposed_on == datetime.date(2012, 11, 20)
    assert Clause.objects.get(pk=record.clause.pk).text == "Second text."


def test_saving_the_same_text_adds_no_version(record, login, editor):
    services.add_clause_version(record.clause, text="First text.", by=editor)
    record.clause.refresh_from_db()
    login(editor).post(url("clause_change", record.clause.pk), clause_form(record.clause))
    assert record.clause.versions.count() == 1


def test_a_text_cannot_be_erased(record, login, editor):
    services.add_clause_version(record.clause, text="First text.", by=editor)
    record.clause.refresh_from_db()
    response = login(editor).post(
        url("clause_change", record.clause.pk), clause_form(record.clause, text="")
    )
    assert response.status_code == 200 and "never erased" in response.text
    assert Clause.objects.get(pk=record.clause.pk).text == "First text."


def test_the_position_form_records_through_the_service(negotiation, record, login, editor):
    response = login(editor).post(
        url("position_add"),
        {
            "party": record.roscosmos.pk,
            "clause": record.second_clause.pk,
            "stance": "accepts",
            "taken_on": "2012-11-21",
            "precision": "day",
            "note": "Scrutiny over.",
        },
    )
    assert response.status_code == 302
    position = Position.objects.filter(clause=record.second_clause).latest("id")
    assert (position.party, position.stance) == (record.roscosmos, "accepts")
    assert position.version == negotiation.second_v1 and position.recorded_by == editor


def test_the_position_form_refuses_what_the_service_refuses(negotiation, record, login, editor):
    before = Position.objects.count()
    response = login(editor).post(
        url("position_add"),
        {
            "party": record.esa.pk,
            "clause": record.clause.pk,
            "stance": "reserves",
            "taken_on": "2012-11-21",
            "precision": "day",
        },
    )
    assert response.status_code == 200 and "kind of reservation" in response.text
    assert Position.objects.count() == before


def test_positions_cannot_be_changed_or_deleted_in_the_admin(negotiation, login, editor):
    client = login(editor)
    page = client.get(url("position_change", negotiation.reservation.pk))
    assert page.status_code == 200 and 'name="_save"' not in page.text
    assert client.get(url("position_delete", negotiation.reservation.pk)).status_code == 403


def test_the_bulk_action_records_a_position_on_each_clause(negotiation, record, login, editor):
    response = login(editor).post(
        url("clause_changelist"),
        {
            "action": "record_position_on_selected",
            "_selected_action": [
                record.clause.pk,
                record.second_clause.pk,
                record.clause_of_internal_agreement.pk,
            ],
            "apply": "1",
            "party": record.roscosmos.pk,
            "stance": "reserves",
            "reservation": "linguistic",
            "taken_on": "2012-11-25",
            "precision": "day",
            "note": "",
            "source": "",
        },
    )
    assert response.status_code == 302
    for clause in (record.clause, record.second_clause):
        latest = Position.objects.filter(clause=clause, party=record.roscosmos).latest("id")
        assert (latest.stance, latest.reservation) == ("reserves", "linguistic")
    # Roscosmos does not negotiate the side letter: left alone, and said so.
    assert not Position.objects.filter(clause=record.clause_of_internal_agreement).exists()
    assert any("Left alone" in message for message in messages_of(response))
