"""The negotiation's events everywhere the record goes: in plain words, in digests (through
the same exactly-once ledger), in the feed; hidden from readers when confidential."""

import feedparser
import pytest
from django.urls import reverse

from agreements import digests, events, services
from agreements.models import ClauseVersion, DigestItem, Position, Subscription
from tests.conftest import feed_token_of
from tests.test_digests import delivery_of, make_due, plan_now, subscribe

pytestmark = pytest.mark.django_db


def sentences(user) -> list[str]:
    return [event.sentence for event in events.latest_events(user, 50)]


def test_lifting_a_reservation_is_said_in_plain_words(negotiation, record, stakeholder):
    negotiation.position(record.roscosmos, record.second_clause, "accepts", None)
    assert sentences(stakeholder)[0] == (
        "Roscosmos lifted its scrutiny reservation on clause 2 and now accepts"
    )


def test_a_new_text_says_how_many_words_changed_and_links_to_the_redline(negotiation, stakeholder):
    event = events.version_event(
        events.versions_with_previous(ClauseVersion.objects.filter(pk=negotiation.v2.pk)).get(),
        stakeholder,
    )
    assert event.sentence == "ESA proposed a new text for clause 1: 5 words changed"
    assert event.url.endswith("/compare/?from=1&to=2")


def test_each_stance_has_its_sentence(negotiation, record, stakeholder):
    negotiation.position(record.esa, record.clause, "withdraws", None)
    negotiation.position(
        record.roscosmos, record.clause, "reserves", None, reservation="linguistic"
    )
    assert sentences(stakeholder)[:2] == [
        "Roscosmos entered a linguistic reservation on clause 1",
        "ESA withdrew its position on clause 1",
    ]


def test_readers_get_no_events_of_internal_records_or_confidential_positions(
    negotiation, record, stakeholder, editor
):
    negotiation.position(record.esa, record.clause, "rejects", None, internal=True)
    assert "ESA rejected clause 1" not in sentences(stakeholder)
    assert "ESA rejected clause 1" in sentences(editor)
    assert not any("clause 3" in sentence for sentence in sentences(stakeholder))


def test_a_digest_carries_each_event_exactly_once(record, manager, mailoutbox):
    subscription = subscribe(manager, follows_everything=True)
    version = services.add_clause_version(record.clause, text="A text.", by=record.editor)
    position = services.record_position(
        record.esa, clause=record.clause, stance="accepts", by=record.editor
    )
    hidden = services.record_position(
        record.roscosmos, clause=record.clause, stance="rejects", by=record.editor, internal=True
    )
    plan_now()
    delivery = delivery_of(subscription)
    items = DigestItem.objects.filter(delivery=delivery)
    assert set(items.exclude(version=None).values_list("version", flat=True)) == {version.pk}
    assert set(items.exclude(position=None).values_list("position", flat=True)) == {position.pk}
    assert not items.filter(position=hidden).exists()
    assert "ESA accepted clause 1" in delivery.body_text
    assert "rejected" not in delivery.body_text
    assert "/clauses/" in delivery.body_html
    # Nothing new: the next run plans nothing, and nothing is attached twice.
    make_due(subscription)
    plan_now()
    assert DigestItem.objects.filter(subscription=subscription).count() == 2
    later = services.record_position(
        record.roscosmos, clause=record.clause, stance="accepts", by=record.editor
    )
    make_due(subscription)
    plan_now()
    assert DigestItem.objects.filter(subscription=subscription, position=later).count() == 1
    assert DigestItem.objects.filter(subscription=subscription).count() == 3


def test_a_digest_of_a_followed_agreement_skips_other_topics(record, manager):
    subscription = subscribe(manager, follows_everything=False)
    subscription.agreements.set([record.agreement])
    record.topic.parties.set([record.esa])
    services.record_position(record.esa, topic=record.topic, stance="proposes", by=record.editor)
    content = digests.content.collect(subscription, record.agreement.created_at.date())
    assert content.positions == []
    assert Position.objects.count() == 1


def test_the_feed_carries_the_events(negotiation, client, manager):
    token = feed_token_of(Subscription(user=manager, frequency="off"))
    feed = feedparser.parse(client.get(reverse("agreements:changes_feed", args=[token])).content)
    titles = [entry.title for entry in feed.entries]
    assert "Roscosmos entered a scrutiny reservation on clause 2" in titles
    links = [entry.link for entry in feed.entries]
    assert any(link.endswith("/compare/?from=1&to=2") for link in links)


def test_the_timeline_carries_the_events_with_links_to_the_redline(negotiation, stakeholder, login):
    content = login(stakeholder).get("/timeline/").content.decode()
    assert "Roscosmos entered a scrutiny reservation on clause 2" in content
    assert 'href="/clauses/' in content and '/compare/?from=1&amp;to=2"' in content
    assert "Our fallback text" not in content and "clause 3" not in content


def test_the_timeline_filters_events_like_changes(negotiation, record, stakeholder, login):
    client = login(stakeholder)
    record.topic.parties.set([record.esa])
    services.record_position(record.esa, topic=record.topic, stance="proposes", by=record.editor)
    on_topic = client.get("/timeline/", {"topic": record.topic.slug}).content.decode()
    assert "ESA made a proposal on Juice cooperation" in on_topic
    assert "clause 2" not in on_topic
    before = client.get("/timeline/", {"until": "2012-11-12"}).content.decode()
    assert "ESA accepted clause 1" in before and "scrutiny reservation" not in before


def test_a_digest_whose_clause_went_internal_is_not_sent(record, manager, mailoutbox):
    subscription = subscribe(manager, follows_everything=True)
    services.add_clause_version(record.second_clause, text="A text.", by=record.editor)
    plan_now()
    delivery = delivery_of(subscription)
    record.second_clause.visibility = "internal"
    record.second_clause.save()
    assert digests.sending.why_not_deliverable(delivery) == "an item was hidden from the recipient"
