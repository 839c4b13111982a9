"""One-click unsubscribe (RFC 8058): a signed token, GET shows a form, only POST acts."""

import datetime

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from agreements import digests
from agreements.models import Subscription
from agreements.subscriptions import SubscriptionForm


@pytest.fixture
def subscription(manager) -> Subscription:
    return Subscription.objects.create(user=manager, frequency="weekly")


@pytest.fixture
def anonymous() -> Client:
    # Mail clients post without a session and without a CSRF token.
    return Client(enforce_csrf_checks=True)


def url(token: str) -> str:
    return reverse("agreements:unsubscribe", args=[token])


def frequency_of(subscription: Subscription) -> str:
    return Subscription.objects.get(pk=subscription.pk).frequency


def test_get_shows_a_confirmation_and_changes_nothing(anonymous, subscription):
    response = anonymous.get(url(digests.unsubscribe_token(subscription)))

    assert response.status_code == 200
    content = response.content.decode()
    assert "Stop the email digest this link came with?" in content
    assert 'method="post"' in content
    assert frequency_of(subscription) == "weekly"


def test_a_one_click_post_unsubscribes_without_login_or_csrf(anonymous, subscription):
    response = anonymous.post(
        url(digests.unsubscribe_token(subscription)), {"List-Unsubscribe": "One-Click"}
    )

    assert response.status_code == 200
    assert "no more digests will be sent" in response.content.decode()
    subscription.refresh_from_db()
    assert subscription.frequency == "off" and subscription.next_due_at is None


@pytest.mark.parametrize("method", ["get", "post"])
def test_the_page_names_no_address(anonymous, subscription, method):
    response = getattr(anonymous, method)(url(digests.unsubscribe_token(subscription)))

    assert response.status_code == 200
    assert "manager@example.org" not in response.content.decode()
    assert "manager" not in response.content.decode()


def test_an_old_link_expires_when_the_digest_is_turned_back_on(anonymous, subscription, manager):
    old = digests.unsubscribe_token(subscription)
    anonymous.post(url(old))
    resubscribe = SubscriptionForm(
        {"frequency": "daily", "hour": "7", "weekday": "0", "follows_everything": "on"},
        instance=Subscription.objects.get(pk=subscription.pk),
        user=manager,
    )
    assert resubscribe.is_valid(), resubscribe.errors
    resubscribe.save()

    response = anonymous.post(url(old))

    assert response.status_code == 400
    assert "This unsubscribe link has expired" in response.content.decode()
    assert frequency_of(subscription) == "daily"
    # The link of the next email works.
    fresh = digests.unsubscribe_token(Subscription.objects.get(pk=subscription.pk))
    assert anonymous.post(url(fresh)).status_code == 200
    assert frequency_of(subscription) == "off"


def test_a_link_signed_before_generations_counted_still_unsubscribes(anonymous, subscription):
    token = signing.dumps({"subscription": subscription.pk}, salt=digests.UNSUBSCRIBE_SALT)

    assert anonymous.post(url(token)).status_code == 200
    assert frequency_of(subscription) == "off"


def test_unsubscribing_twice_is_harmless(anonymous, subscription):
    token = digests.unsubscribe_token(subscription)
    anonymous.post(url(token))
    assert anonymous.post(url(token)).status_code == 200
    assert frequency_of(subscription) == "off"


def test_other_methods_are_refused(anonymous, subscription):
    response = anonymous.put(url(digests.unsubscribe_token(subscription)))
    assert response.status_code == 405


def forged(subscription: Subscription) -> str:
    return signing.dumps({"subscription": subscription.pk}, salt="something else")


def altered(subscription: Subscription) -> str:
    token = digests.unsubscribe_token(subscription)
    # Point the signed payload at another subscription, keep the old signature.
    other = signing.dumps({"subscription": subscription.pk + 1}, salt=digests.UNSUBSCRIBE_SALT)
    return other.split(":")[0] + ":" + ":".join(token.split(":")[1:])


def truncated(subscription: Subscription) -> str:
    return digests.unsubscribe_token(subscription)[:-4]


@pytest.mark.parametrize("make_token", [forged, altered, truncated, lambda s: "nonsense"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_bad_token_is_a_clear_400_and_changes_nothing(
    anonymous, subscription, make_token, method
):
    response = getattr(anonymous, method)(url(make_token(subscription)))

    assert response.status_code == 400
    assert "This unsubscribe link is not valid" in response.content.decode()
    assert "Nothing was changed." in response.content.decode()
    assert frequency_of(subscription) == "weekly"


def test_an_expired_token_is_a_clear_400(anonymous, subscription, monkeypatch):
    token = digests.unsubscribe_token(subscription)
    later = datetime.datetime.now().timestamp() + digests.UNSUBSCRIBE_MAX_AGE.total_seconds() + 60
    monkeypatch.setattr(signing.time, "time", lambda: later)

    response = anonymous.post(url(token))

    assert response.status_code == 400
    assert "This unsubscribe link has expired" in response.content.decode()
    assert frequency_of(subscription) == "weekly"


def test_a_token_for_a_deleted_subscription_is_a_clear_400(anonymous, subscription):
    token = digests.unsubscribe_token(subscription)
    subscription.delete()

    response = anonymous.post(url(token))

    assert response.status_code == 400
    assert "names no subscription" in response.content.decode()


def test_an_unsubscribe_token_does_not_open_anything_else(anonymous, subscription):
    token = digests.unsubscribe_token(subscription)
    response = anonymous.get(reverse("agreements:subscriptions"), {"token": token})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")
    assert frequency_of(subscription) == "weekly"
