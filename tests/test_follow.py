"""The Follow button on agreement and topic pages (issue 17, GovTrack's Track button).

Anyone who may read may get a digest (the subscriptions page and the sender ask
`can_read`, not a group: stakeholders subscribe as managers do), so the button is shown to
every reader, and following is refused only to those who may not read at all.
"""

import pytest
from django.urls import reverse

from agreements.models import Subscription

HTMX = {"HX-Request": "true"}


def follow_url(record) -> str:
    if record.__class__.__name__ == "Agreement":
        return reverse("agreements:follow_agreement", args=[record.slug])
    return reverse("agreements:follow_topic", args=[record.slug])


@pytest.fixture(params=["agreement", "topic"])
def followed(request, record):
    return getattr(record, request.param)


def test_every_reader_sees_the_button(login, stakeholder, manager, record):
    for reader in (stakeholder, manager):
        client = login(reader)
        for page in (record.agreement, record.topic):
            html = client.get(page.get_absolute_url()).content.decode()
            assert f'action="{follow_url(page)}"' in html
            assert '<button type="submit" name="action" value="follow">Follow</button>' in html


def test_following_without_javascript_creates_a_weekly_digest_and_comes_back(
    login, stakeholder, followed
):
    client = login(stakeholder)

    response = client.post(follow_url(followed), {"action": "follow"}, follow=True)

    assert response.redirect_chain == [(followed.get_absolute_url(), 302)]
    subscription = Subscription.objects.get(user=stakeholder)
    assert subscription.frequency == Subscription.Frequency.WEEKLY
    assert not subscription.follows_everything
    assert subscription.next_due_at is not None
    chosen = list(subscription.agreements.all()) + list(subscription.topics.all())
    assert chosen == [followed]
    html = response.content.decode()
    assert f"You follow “{followed.title}”. Your digest: Weekly on Monday at 07:00" in html
    assert "Stop following" in html


def test_with_htmx_the_button_swaps_to_following(login, manager, followed):
    client = login(manager)

    response = client.post(follow_url(followed), {"action": "follow"}, headers=HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert html.lstrip().startswith('<form id="follow"')
    assert '<span class="following">Following</span> ·' in html
    assert 'value="stop"' in html
    assert 'role="status"' in html


def test_following_adds_to_the_chosen_records_and_keeps_the_settings(login, manager, record):
    subscription = Subscription.objects.create(
        user=manager, frequency="daily", hour=9, follows_everything=False
    )
    subscription.topics.add(record.topic)
    client = login(manager)

    client.post(follow_url(record.agreement), {"action": "follow"})

    subscription.refresh_from_db()
    assert (subscription.frequency, subscription.hour) == ("daily", 9)
    assert list(subscription.agreements.all()) == [record.agreement]
    assert list(subscription.topics.all()) == [record.topic]


def test_following_turns_a_stopped_digest_on_about_this_record_only(login, manager, record):
    subscription = Subscription.objects.create(user=manager, frequency="off")
    subscription.topics.add(record.topic)  # chosen before it was stopped
    client = login(manager)

    client.post(follow_url(record.agreement), {"action": "follow"})

    subscription.refresh_from_db()
    assert subscription.frequency == "weekly"
    assert not subscription.follows_everything
    assert list(subscription.agreements.all()) == [record.agreement]
    assert not subscription.topics.exists()


def test_a_digest_about_everything_says_so_and_offers_only_this(login, manager, record):
    Subscription.objects.create(user=manager, frequency="daily", follows_everything=True)
    client = login(manager)

    html = client.get(record.agreement.get_absolute_url()).content.decode()

    assert "Your digest follows everything you can see, this too." in html
    assert 'value="only"' in html
    assert f'href="{reverse("agreements:subscriptions")}"' in html
    assert 'value="follow"' not in html


def test_only_follow_this_narrows_a_digest_about_everything(login, manager, record):
    subscription = Subscription.objects.create(
        user=manager, frequency="daily", follows_everything=True
    )
    client = login(manager)

    response = client.post(follow_url(record.topic), {"action": "only"}, headers=HTMX)

    subscription.refresh_from_db()
    assert not subscription.follows_everything
    assert subscription.frequency == "daily"
    assert list(subscription.topics.all()) == [record.topic]
    assert "Following" in response.content.decode()


def test_stop_following_removes_it_and_a_digest_about_nothing_is_turned_off(login, manager, record):
    subscription = Subscription.objects.create(
        user=manager, frequency="daily", follows_everything=False
    )
    subscription.agreements.add(record.agreement)
    subscription.topics.add(record.topic)
    client = login(manager)

    client.post(follow_url(record.agreement), {"action": "stop"})
    subscription.refresh_from_db()
    assert not subscription.agreements.exists()
    assert subscription.frequency == "daily"

    response = client.post(follow_url(record.topic), {"action": "stop"}, follow=True)
    subscription.refresh_from_db()
    assert subscription.frequency == "off"
    assert subscription.next_due_at is None
    assert "No digest: you get no email from the tracker." in response.content.decode()
    assert 'value="follow"' in response.content.decode()


def test_the_button_shows_the_readers_own_state_through_the_page_cache(
    login, manager, stakeholder, record
):
    url = record.agreement.get_absolute_url()
    login(manager).post(follow_url(record.agreement), {"action": "follow"})
    assert "Stop following" in login(manager).get(url).content.decode()
    # The same cached page parts, another reader: their own button.
    assert "Stop following" not in login(stakeholder).get(url).content.decode()


def test_it_needs_a_post_with_a_csrf_token(client, manager, record):
    client.force_login(manager)
    assert client.get(follow_url(record.agreement)).status_code == 405
    client.handler.enforce_csrf_checks = True
    assert client.post(follow_url(record.agreement), {"action": "follow"}).status_code == 403
    assert not Subscription.objects.filter(user=manager).exists()


def test_an_unknown_action_is_a_400_and_writes_nothing(login, manager, record):
    response = login(manager).post(follow_url(record.agreement), {"action": "everything"})
    assert response.status_code == 400
    assert not Subscription.objects.filter(user=manager).exists()


def test_an_internal_record_cannot_be_followed_by_a_reader(login, manager, record):
    client = login(manager)
    for hidden in (record.internal_agreement, record.internal_topic):
        assert client.post(follow_url(hidden), {"action": "follow"}).status_code == 404
    assert not Subscription.objects.filter(user=manager).exists()


def test_outsiders_may_not_follow(login, outsider, record):
    response = login(outsider).post(follow_url(record.agreement), {"action": "follow"})
    assert response.status_code == 403
    assert not Subscription.objects.filter(user=outsider).exists()


def test_anonymous_goes_to_the_login_page(client, record):
    response = client.post(follow_url(record.agreement), {"action": "follow"})
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
