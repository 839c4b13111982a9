"""A stakeholder who guesses the id or slug of an internal record gets what a record that
does not exist gets, and no page, fragment, feed or digest of theirs names one.

Internal records hide in two ways: flagged internal themselves, or shared but hanging from an
internal parent (a clause of an internal agreement, a milestone of an internal topic). Both
are below. Readers have no export of their own: their "exports" are the personal Atom and
iCalendar feeds and their digest, checked here; the full JSON export is a staff command.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from agreements import services
from agreements.models import (
    Agreement,
    FundingSource,
    Milestone,
    Party,
    Person,
    Programme,
    Source,
    Statement,
    Subscription,
    Topic,
    Visibility,
)
from tests.conftest import feed_token_of

HTMX = {"HX-Request": "true"}
INTERNAL = Visibility.INTERNAL

# Every name below belongs to a record no stakeholder may see.
SECRETS = [
    "Fallback position on landing module",  # internal clause of a shared agreement
    "Side letter on launch costs",  # internal agreement
    "Cost sharing",  # shared clause of the internal agreement
    "Negotiating margin",  # internal topic
    "Reserve we do not talk about",  # internal funding of a shared programme
    "Internal deadline",  # internal milestone
    "Off the record remark",  # internal statement
    "Contingency fund",  # internal programme
    "Hidden pledge",  # shared funding of the internal programme
    "Secret rehearsal",  # internal milestone of a shared agreement
    "Contingency review",  # shared milestone of the internal programme
    "Margin review",  # shared milestone of the internal topic
    "Whispered aside",  # internal statement about a shared agreement
    "Corridor remark",  # shared statement about the internal topic
    "Leaked minutes",  # internal source of a shared change and a shared statement
    "Silent partner",  # internal party of a shared agreement, topic and speaker
]


@pytest.fixture
def hidden(record, editor):
    """Internal records hung from shared ones, and shared ones hung from internal ones."""
    leak = Source.objects.create(title="Leaked minutes", visibility=INTERNAL)
    partner = Party.objects.create(name="Silent partner", slug="silent", visibility=INTERNAL)
    record.agreement.parties.add(partner)
    record.topic.parties.add(partner)
    envoy = Person.objects.create(name="Anna Envoy", party=partner)
    programme = Programme.objects.create(
        name="Contingency fund",
        slug="contingency",
        estimated_cost=Decimal("5000000"),
        amount_in_question=Decimal("5000000"),
        visibility=INTERNAL,
    )
    pact = record.create(Agreement(title="Contingency pact", slug="pact", programme=programme))
    pledge = record.create(
        FundingSource(
            programme=programme,
            title="Hidden pledge",
            amount=Decimal("1000000"),
            decision_on=datetime.date(2030, 1, 1),
        )
    )
    Milestone.objects.create(
        title="Secret rehearsal",
        happens_on=datetime.date(2030, 3, 1),
        agreement=record.agreement,
        visibility=INTERNAL,
    )
    Milestone.objects.create(
        title="Contingency review", happens_on=datetime.date(2030, 4, 1), programme=programme
    )
    Milestone.objects.create(
        title="Margin review", happens_on=datetime.date(2030, 5, 1), topic=record.internal_topic
    )
    for summary, about, visibility in [
        ("Whispered aside", {"agreement": record.agreement}, INTERNAL),
        ("Corridor remark", {"topic": record.internal_topic}, Visibility.SHARED),
        ("Envoy view", {"agreement": record.agreement}, Visibility.SHARED),
    ]:
        Statement.objects.create(
            person=envoy if summary == "Envoy view" else record.speaker,
            said_on=datetime.date(2012, 11, 23),
            summary=summary,
            source=leak,
            visibility=visibility,
            **about,
        )
    services.change_status(record.clause, to="pending", by=editor, source=leak)
    for subject, to in [
        (record.internal_clause, "pending"),
        (record.clause_of_internal_agreement, "signed"),
        (record.internal_topic, "in_discussion"),
        (record.internal_funding, "secured"),
        (pledge, "expected"),
    ]:
        services.change_status(subject, to=to, by=editor, source=record.source)
    return SimpleNamespace(programme=programme, pact=pact, pledge=pledge)


def assert_no_secret(content: bytes | str, where: str) -> None:
    text = content.decode() if isinstance(content, bytes) else content
    leaked = [secret for secret in SECRETS if secret.lower() in text.lower()]
    assert not leaked, f"{where} names internal records: {leaked}"


# Guessing an id or a slug -----------------------------------------------------------------


def same_for_everyone(content: bytes) -> bytes:
    """The CSP nonce and the masked CSRF token differ in every answer."""
    content = re.sub(rb'nonce="[^"]*"', b'nonce=""', content)
    content = re.sub(rb'"X-CSRFToken": "[^"]*"', b'"X-CSRFToken": ""', content)
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]*"', b"", content)


GUESSES = {
    "internal agreement": ("agreements:agreement_detail", lambda r, h: r.internal_agreement.slug),
    "internal clause": ("agreements:clause_detail", lambda r, h: r.internal_clause.pk),
    "clause of an internal agreement": (
        "agreements:clause_detail",
        lambda r, h: r.clause_of_internal_agreement.pk,
    ),
    "internal topic": ("agreements:topic_detail", lambda r, h: r.internal_topic.slug),
    "internal programme": ("agreements:programme_detail", lambda r, h: h.programme.slug),
}
UNKNOWN = {
    "agreements:agreement_detail": "no-such-agreement",
    "agreements:clause_detail": 987654321,
    "agreements:topic_detail": "no-such-topic",
    "agreements:programme_detail": "no-such-programme",
}
VARIANTS = {
    "page": ({}, {}),
    "fragment": (HTMX, {}),
    "filtered fragment": (HTMX, {"clause_status": "draft", "page": "2"}),
    "boosted": ({**HTMX, "HX-Boosted": "true"}, {}),
}


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("guess", GUESSES)
@pytest.mark.parametrize("reader", ["stakeholder", "manager"])
def test_a_guessed_internal_record_is_a_404_like_a_missing_one(
    record, hidden, login, request, reader, guess, variant
):
    client = login(request.getfixturevalue(reader))
    name, key = GUESSES[guess]
    headers, query = VARIANTS[variant]

    response = client.get(reverse(name, args=[key(record, hidden)]), query, headers=headers)
    missing = client.get(reverse(name, args=[UNKNOWN[name]]), query, headers=headers)

    assert response.status_code == missing.status_code == 404
    assert same_for_everyone(response.content) == same_for_everyone(missing.content)
    assert_no_secret(response.content, guess)


@pytest.mark.parametrize("guess", GUESSES)
def test_staff_open_what_stakeholders_cannot(record, hidden, login, editor, guess):
    name, key = GUESSES[guess]
    assert login(editor).get(reverse(name, args=[key(record, hidden)])).status_code == 200


@pytest.mark.parametrize(
    "query", [{"agreement": "side-letter"}, {"topic": "margin"}], ids=["agreement", "topic"]
)
def test_filtering_the_timeline_by_an_internal_record_is_refused_like_an_unknown_one(
    record, hidden, login, stakeholder, query
):
    client = login(stakeholder)
    response = client.get(reverse("agreements:timeline"), query, headers=HTMX)
    unknown = client.get(
        reverse("agreements:timeline"), {key: "no-such" for key in query}, headers=HTMX
    )
    assert response.status_code == unknown.status_code == 400
    assert_no_secret(response.content, "timeline filter")


@pytest.mark.parametrize("attribute", ["internal_milestone", "internal_statement"])
def test_milestones_and_statements_have_no_reader_page_to_guess(
    record, hidden, login, stakeholder, attribute
):
    # Their only pages by id are in the admin, which sends readers to its login.
    obj = getattr(record, attribute)
    response = login(stakeholder).get(
        reverse(f"admin:agreements_{obj._meta.model_name}_change", args=[obj.pk])
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_following_an_internal_topic_is_refused(record, hidden, login, manager):
    response = login(manager).post(
        reverse("agreements:subscriptions"),
        {"frequency": "weekly", "hour": "7", "weekday": "0", "topics": [record.internal_topic.pk]},
    )
    assert response.status_code == 200
    assert not Subscription.objects.filter(user=manager).exists()
    assert_no_secret(response.content, "subscription form")


# Pages and fragments that list records -------------------------------------------------------

PAGES = [
    ("agreements:dashboard", lambda r: [], {}, {}, "ExoMars cooperation"),
    ("agreements:dashboard", lambda r: [], {}, HTMX, "Proton launchers"),
    ("agreements:agreement_list", lambda r: [], {}, {}, "ExoMars cooperation"),
    ("agreements:agreement_list", lambda r: [], {"sort": "updated"}, HTMX, "ExoMars cooperation"),
    ("agreements:topic_list", lambda r: [], {"sort": "status"}, {}, "Juice cooperation"),
    ("agreements:topic_list", lambda r: [], {}, HTMX, "Juice cooperation"),
    ("agreements:agreement_detail", lambda r: [r.agreement.slug], {}, {}, "Envoy view"),
    ("agreements:agreement_detail", lambda r: [r.agreement.slug], {}, HTMX, "Proton launchers"),
    ("agreements:agreement_detail", lambda r: ["pact"], {}, {}, "Contingency pact"),
    ("agreements:clause_detail", lambda r: [r.clause.pk], {}, {}, "Proton launchers"),
    ("agreements:clause_detail", lambda r: [r.clause.pk], {}, HTMX, "Pending signature"),
    ("agreements:topic_detail", lambda r: [r.topic.slug], {}, {}, "Juice cooperation"),
    ("agreements:topic_detail", lambda r: [r.topic.slug], {}, HTMX, "Proposed"),
    ("agreements:programme_detail", lambda r: [r.programme.slug], {}, {}, "Italy"),
    ("agreements:programme_detail", lambda r: [r.programme.slug], {}, HTMX, "Italy"),
    ("agreements:timeline", lambda r: [], {}, {}, "Proton launchers"),
    ("agreements:timeline", lambda r: [], {"kind": "clause"}, HTMX, "Proton launchers"),
    ("agreements:timeline", lambda r: [], {}, {**HTMX, "HX-Target": "more"}, "Proton launchers"),
    ("agreements:subscriptions", lambda r: [], {}, {}, "Juice cooperation"),
]


@pytest.mark.parametrize(
    "name,args,query,headers,shown",
    PAGES,
    ids=[f"{page[0].split(':')[1]}-{index}" for index, page in enumerate(PAGES)],
)
def test_pages_and_fragments_name_no_internal_record(
    record, hidden, login, stakeholder, name, args, query, headers, shown
):
    response = login(stakeholder).get(reverse(name, args=args(record)), query, headers=headers)
    assert response.status_code == 200
    assert shown in response.text  # the page does show the shared record next to them
    assert_no_secret(response.content, name)


@pytest.mark.parametrize("secret", SECRETS)
def test_searching_for_an_internal_record_finds_nothing_of_it(
    record, hidden, login, stakeholder, secret
):
    client = login(stakeholder)
    for headers in ({}, HTMX):
        response = client.get(reverse("agreements:search"), {"q": secret}, headers=headers)
        assert response.status_code == 200
        assert not response.context["found"]  # lazy: worked out here if the page was cached
        # The page repeats the query itself; nothing else may name the record.
        echoes = (f'value="{secret}"', f"Nothing matches “{secret}”")
        text = response.text
        for echo in echoes:
            text = text.replace(echo, "")
        assert_no_secret(text, f"search for {secret!r}")


# Feeds and digests --------------------------------------------------------------------------


@pytest.fixture
def subscription(stakeholder):
    subscription = Subscription.objects.create(user=stakeholder, frequency="weekly")
    # Started before the record was written, so that the digest has all of it to show.
    Subscription.objects.filter(pk=subscription.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=7)
    )
    subscription.refresh_from_db()
    return subscription


def test_the_stakeholders_own_atom_feed_names_no_internal_record(
    record, hidden, client, subscription
):
    response = client.get(reverse("agreements:changes_feed", args=[feed_token_of(subscription)]))
    assert response.status_code == 200
    assert "Proton launchers" in response.text
    assert_no_secret(response.content, "Atom feed")


def test_the_stakeholders_own_calendar_names_no_internal_record(
    record, hidden, client, subscription
):
    response = client.get(
        reverse("agreements:milestones_calendar", args=[feed_token_of(subscription)])
    )
    assert response.status_code == 200
    assert "Launch of the orbiter" in response.text
    assert_no_secret(response.content, "calendar")
    hidden_ids = set(Milestone.objects.values_list("pk", flat=True)) - set(
        Milestone.objects.visible_to(subscription.user).values_list("pk", flat=True)
    )
    assert hidden_ids
    for pk in hidden_ids:
        assert f"milestone-{pk}@" not in response.text
    assert f"funding-decision-{hidden.pledge.pk}@" not in response.text


def test_the_stakeholders_digest_names_no_internal_record(
    record, hidden, login, editor, subscription
):
    # What staff preview is what the stakeholder would be sent.
    response = login(editor).get(reverse("agreements:subscription_preview", args=[subscription.pk]))
    assert response.status_code == 200
    assert "Proton launchers" in response.text and "Envoy view" in response.text
    assert_no_secret(response.content, "digest")


def test_an_internal_topic_followed_before_it_went_internal_leaks_nothing(
    record, hidden, editor, subscription
):
    from agreements import digests

    subscription.follows_everything = False
    subscription.save()
    subscription.topics.set([record.topic, record.internal_topic])
    services.change_status(record.topic, to="in_discussion", by=editor)

    subject, text, html = digests.preview_digest(subscription)

    assert "Juice cooperation" in text
    for part in (subject, text, html):
        assert_no_secret(part, "digest of a subscription following an internal topic")
    # The premise: the reader follows the internal topic but may not see it.
    assert record.internal_topic in subscription.topics.all()
    assert record.internal_topic not in Topic.objects.visible_to(subscription.user)
