"""Dates: editors type them within a sane range (a form error otherwise), and whatever date
is stored, or asked for in the admin's drill-down, every page and feed still answers."""

import datetime

import feedparser
import icalendar
import pytest
from django.urls import reverse

from agreements import digests, services
from agreements.models import (
    FundingSource,
    Milestone,
    Source,
    Statement,
    StatusChange,
    Subscription,
)
from tests.conftest import feed_token_of
from tests.test_admin import management_form

ABSURD = "9999-12-31"
FORM_ERROR = "Enter a date between 1900 and 2200."


def admin_url(name: str, *args) -> str:
    return reverse(f"admin:agreements_{name}", args=args)


def dated_forms(record) -> dict[str, tuple[dict, type]]:
    """Each admin add form with a date an editor types, filled in with a good date."""
    forms = [
        (
            "milestone",
            {
                "title": "Signature",
                "kind": "signature",
                "happens_on": "2013-02-01",
                "precision": "day",
                "visibility": "shared",
                # The page's link inlines (issue 12), empty.
                **management_form("links"),
                **management_form("incoming_links"),
            },
            Milestone,
        ),
        (
            "statement",
            {
                "person": record.speaker.pk,
                "said_on": "2012-11-23",
                "summary": "Said.",
                "visibility": "shared",
            },
            Statement,
        ),
        (
            "source",
            {
                "title": "Minutes",
                "kind": "minutes",
                "published_on": "2012-11-23",
                "url": "",
                "visibility": "shared",
            },
            Source,
        ),
    ]
    return {name: (data, model) for name, data, model in forms}


@pytest.mark.parametrize("model_name", ["milestone", "statement", "source"])
def test_an_absurd_date_is_a_form_error_and_saves_nothing(record, login, editor, model_name):
    data, model = dated_forms(record)[model_name]
    client = login(editor)
    date_field = next(name for name in data if name.endswith("_on"))
    assert client.post(admin_url(f"{model_name}_add"), data).status_code == 302
    before = model.objects.count()

    response = client.post(admin_url(f"{model_name}_add"), {**data, date_field: ABSURD})

    assert response.status_code == 200
    assert FORM_ERROR in response.text
    assert model.objects.count() == before


def test_an_absurd_decision_date_is_refused_by_the_model(record):
    record.potential.decision_on = datetime.date(9999, 12, 31)
    with pytest.raises(Exception, match="between 1900 and 2200"):
        record.potential.full_clean()


def test_an_absurd_effective_date_is_refused_by_the_bulk_action(record, login, editor):
    response = login(editor).post(
        admin_url("clause_changelist"),
        {
            "action": "change_status_of_selected",
            "_selected_action": [record.clause.pk],
            "apply": "1",
            "status": "signed",
            "status_effective_on": ABSURD,
        },
    )
    assert FORM_ERROR in response.text
    assert not StatusChange.objects.filter(to_status="signed").exists()


# Whatever is stored ---------------------------------------------------------------------------


@pytest.fixture
def stored_extremes(record, editor):
    """Dates no form accepts, stored by an import or a shell: the first and last days there
    are, on a milestone, a funding decision, a statement, a source and a status change."""
    first, last = datetime.date.min, datetime.date.max
    Milestone.objects.create(title="The end of days", happens_on=last, agreement=record.agreement)
    Milestone.objects.create(title="Before time", happens_on=first, agreement=record.agreement)
    FundingSource.objects.filter(pk=record.potential.pk).update(decision_on=last)
    FundingSource.objects.filter(pk=record.secured.pk).update(decision_on=first)
    Statement.objects.create(
        person=record.speaker, said_on=last, summary="Far ahead.", agreement=record.agreement
    )
    Source.objects.filter(pk=record.source.pk).update(published_on=first)
    stored_change(record.clause, to="pending", by=editor, effective_on=last)
    stored_change(record.topic, to="in_discussion", by=editor, effective_on=first)
    return record


def stored_change(subject, *, to: str, by, effective_on: datetime.date) -> StatusChange:
    """A history row as an import writes it: `change_status` refuses such dates."""
    kind = services.KIND_BY_MODEL[type(subject)]
    return StatusChange.objects.create(
        kind=kind,
        **{kind: subject},
        from_status=subject.status,
        to_status=to,
        recorded_by=by,
        effective_on=effective_on,
    )


def test_the_calendar_answers_whatever_date_is_stored(client, manager, stored_extremes):
    token = feed_token_of(Subscription(user=manager, frequency="off"))

    response = client.get(reverse("agreements:milestones_calendar", args=[token]))

    assert response.status_code == 200
    events = {
        str(event["summary"]): event
        for event in icalendar.Calendar.from_ical(response.content).walk("VEVENT")
    }
    last_day = events["The end of days"]
    assert last_day.decoded("dtstart") == datetime.date.max
    assert "dtend" not in last_day
    assert events["Before time"].decoded("dtend") == datetime.date(1, 1, 2)


def test_the_changes_feed_answers_whatever_date_is_stored(client, manager, stored_extremes):
    token = feed_token_of(Subscription(user=manager, frequency="off"))

    response = client.get(reverse("agreements:changes_feed", args=[token]))

    assert response.status_code == 200
    assert not feedparser.parse(response.content).bozo


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("agreements:dashboard", []),
        ("agreements:agreement_detail", ["exomars-cooperation"]),
        ("agreements:topic_detail", ["juice"]),
        ("agreements:programme_detail", ["exomars"]),
        ("agreements:timeline", []),
    ],
)
def test_reader_pages_answer_whatever_date_is_stored(login, manager, stored_extremes, name, args):
    assert login(manager).get(reverse(name, args=args)).status_code == 200


def test_a_digest_plans_and_renders_whatever_date_is_stored(manager, stored_extremes):
    subscription = Subscription.objects.create(user=manager, frequency="daily")
    stored_change(
        stored_extremes.second_clause,
        to="pending",
        by=stored_extremes.editor,
        effective_on=datetime.date.max,
    )

    rendered = digests.preview_digest(subscription)

    assert "Orbiter instruments" in rendered.text


@pytest.mark.parametrize(
    "model", ["milestone", "statement", "source", "statuschange", "fundingsource"]
)
def test_admin_lists_answer_whatever_date_is_stored(login, editor, stored_extremes, model):
    assert login(editor).get(admin_url(f"{model}_changelist")).status_code == 200


# The admin's date drill-down -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "query"),
    [
        ("statuschange", {"effective_on__year": "9999"}),
        ("statuschange", {"effective_on__year": "99999"}),
        ("statuschange", {"effective_on__year": "2012", "effective_on__month": "13"}),
        (
            "statuschange",
            {"effective_on__year": "9999", "effective_on__month": "12", "effective_on__day": "31"},
        ),
        ("milestone", {"happens_on__year": "9999"}),
        ("source", {"published_on__year": "9999", "published_on__month": "12"}),
        ("statement", {"said_on__year": "-1"}),
        ("fundingsource", {"decision_on__year": "99999"}),
        ("fundingsource", {"decision_on__year__gte": "9" * 5000}),
        ("digestdelivery", {"period_end__year": "9999"}),
    ],
)
def test_an_absurd_drill_down_is_a_400(login, editor, record, model, query):
    client = login(editor)
    client.raise_request_exception = False

    response = client.get(admin_url(f"{model}_changelist"), query)

    assert response.status_code == 400


@pytest.mark.parametrize(
    ("model", "query"),
    [
        ("statuschange", {"effective_on__year": "2012", "effective_on__month": "11"}),
        ("statuschange", {"effective_on__year": "2200"}),
        ("milestone", {"happens_on__year": "2016"}),
        ("digestdelivery", {"period_end__year": "2012"}),
    ],
)
def test_a_sane_drill_down_still_filters(login, editor, record, model, query):
    assert login(editor).get(admin_url(f"{model}_changelist"), query).status_code == 200
