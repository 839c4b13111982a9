"""The /subscriptions/ page: digest settings saved in place, feed addresses, staff preview."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from agreements import services
from agreements.models import DigestDelivery, DigestItem, Subscription
from tests.conftest import feed_token_of

URL = reverse("agreements:subscriptions")
HTMX = {"HX-Request": "true"}


def settings_form(**overrides) -> dict:
    data = {"frequency": "weekly", "hour": "7", "weekday": "0", "follows_everything": "on"}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_it_requires_login(client, db):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_outsiders_may_not_subscribe(login, outsider):
    assert login(outsider).get(URL).status_code == 403
    assert login(outsider).post(URL, settings_form()).status_code == 403
    assert not Subscription.objects.exists()


def test_a_get_creates_nothing(login, manager):
    response = login(manager).get(URL)
    assert response.status_code == 200
    assert not Subscription.objects.exists()
    assert b'hx-post="/subscriptions/"' in response.content


def test_it_saves_in_place_with_htmx(login, manager):
    response = login(manager).post(URL, settings_form(hour="18", weekday="4"), headers=HTMX)

    assert response.status_code == 200
    content = response.content.decode()
    assert "<html" not in content
    assert 'id="subscription-form"' in content
    assert "Saved: Weekly on Friday at 18:00 Paris time, about everything you can see." in content
    assert response["Vary"] and "HX-Request" in response["Vary"]
    subscription = Subscription.objects.get(user=manager)
    assert (subscription.frequency, subscription.hour, subscription.weekday) == ("weekly", 18, 4)
    local = subscription.next_due_at.astimezone(datetime.timezone(datetime.timedelta(hours=1)))
    assert subscription.next_due_at > timezone.now()
    assert local.weekday() == 4


def test_without_javascript_it_saves_and_redirects(login, manager):
    client = login(manager)
    response = client.post(URL, settings_form(frequency="daily"))

    assert response.status_code == 302
    assert response["Location"] == URL
    assert Subscription.objects.get(user=manager).frequency == "daily"
    assert "Saved: Daily at 07:00 Paris time" in client.get(URL).content.decode()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("hour", "25"),
        ("hour", "-1"),
        ("hour", "seven"),
        ("weekday", "7"),
        ("frequency", "hourly"),
        ("language", "de"),
    ],
)
def test_bad_values_are_form_errors_and_save_nothing(login, manager, field, value):
    response = login(manager).post(URL, settings_form(**{field: value}), headers=HTMX)

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert "Saved." not in response.content.decode()
    assert not Subscription.objects.exists()


def test_it_offers_the_sites_languages_and_starts_from_its_own(login, manager, settings):
    content = login(manager).get(URL).content.decode()

    for code, _name in settings.LANGUAGES:
        assert f'<option value="{code}"' in content
    assert f'<option value="{settings.LANGUAGE_CODE}" selected>' in content


def test_it_saves_the_language_of_the_digest(login, manager):
    client = login(manager)
    client.post(URL, settings_form(language="ru"), headers=HTMX)
    assert Subscription.objects.get(user=manager).language == "ru"

    # A form without the field (a page opened before it was offered) keeps it.
    client.post(URL, settings_form(hour="9"), headers=HTMX)
    assert Subscription.objects.get(user=manager).language == "ru"


def test_a_bad_value_does_not_change_an_existing_subscription(login, manager):
    Subscription.objects.create(user=manager, frequency="daily", hour=6)
    login(manager).post(URL, settings_form(hour="25"), headers=HTMX)

    subscription = Subscription.objects.get(user=manager)
    assert (subscription.frequency, subscription.hour) == ("daily", 6)


def test_it_offers_only_visible_agreements_and_topics(login, manager, record):
    content = login(manager).get(URL).content.decode()

    assert record.agreement.title in content
    assert record.topic.title in content
    assert record.internal_agreement.title not in content
    assert record.internal_topic.title not in content


def test_it_refuses_to_follow_an_internal_agreement(login, manager, record):
    data = settings_form(follows_everything=None, agreements=str(record.internal_agreement.pk))

    response = login(manager).post(URL, data, headers=HTMX)

    assert "Select a valid choice" in response.content.decode()
    assert not Subscription.objects.exists()


def test_it_follows_chosen_agreements_and_topics(login, manager, record):
    data = settings_form(
        follows_everything=None, agreements=str(record.agreement.pk), topics=str(record.topic.pk)
    )

    login(manager).post(URL, data, headers=HTMX)

    subscription = Subscription.objects.get(user=manager)
    assert not subscription.follows_everything
    assert list(subscription.agreements.all()) == [record.agreement]
    assert list(subscription.topics.all()) == [record.topic]


def test_following_nothing_is_an_error(login, manager, record):
    response = login(manager).post(URL, settings_form(follows_everything=None), headers=HTMX)

    assert "Choose at least one agreement or topic" in response.content.decode()
    assert not Subscription.objects.exists()


def test_turning_it_off_unschedules_it(login, manager):
    Subscription.objects.create(user=manager, frequency="daily", next_due_at=timezone.now())

    login(manager).post(URL, settings_form(frequency="off"), headers=HTMX)

    subscription = Subscription.objects.get(user=manager)
    assert subscription.frequency == "off" and subscription.next_due_at is None


def test_turning_it_back_on_starts_from_now(login, manager):
    long_ago = timezone.now() - datetime.timedelta(days=300)
    Subscription.objects.create(user=manager, frequency="off", created_at=long_ago)

    login(manager).post(URL, settings_form(frequency="daily"), headers=HTMX)

    assert Subscription.objects.get(user=manager).created_at > long_ago


def test_changing_the_hour_keeps_the_start(login, manager):
    long_ago = timezone.now() - datetime.timedelta(days=300)
    Subscription.objects.create(user=manager, frequency="daily", created_at=long_ago)

    login(manager).post(URL, settings_form(frequency="daily", hour="9"), headers=HTMX)

    assert Subscription.objects.get(user=manager).created_at == long_ago


# Feeds ----------------------------------------------------------------------------------------


def feed_urls_in(content: str) -> list[str]:
    return list(dict.fromkeys(re.findall(r'href="(http://testserver/feeds/[^"]+)"', content)))


def test_new_feed_addresses_are_shown_once_and_work(login, manager, client):
    login(manager)

    response = client.post(reverse("agreements:reset_feed_token"))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    content = response.content.decode()
    assert "Your personal feed addresses are ready." in content
    changes, calendar = feed_urls_in(content)
    assert client.get(changes).status_code == 200
    assert client.get(calendar).status_code == 200
    # Nothing stored can show them again.
    page = client.get(URL).content.decode()
    assert feed_urls_in(page) == []
    assert "You have personal feed addresses." in page


def test_resetting_the_feed_token_revokes_the_old_addresses(login, manager, client):
    subscription = Subscription(user=manager)
    old = feed_token_of(subscription)
    login(manager)

    response = client.post(reverse("agreements:reset_feed_token"))

    assert "Your feed addresses are new; the old ones no longer work." in response.text
    [new, _calendar] = feed_urls_in(response.text)
    assert client.get(reverse("agreements:changes_feed", args=[old])).status_code == 404
    assert client.get(new).status_code == 200


def test_the_page_is_kept_by_no_cache(login, manager):
    response = login(manager).get(URL)
    assert "private" in response["Cache-Control"]
    assert "no-store" in response["Cache-Control"]


def test_resetting_the_feed_token_needs_a_post(login, manager):
    response = login(manager).get(reverse("agreements:reset_feed_token"))
    assert response.status_code == 405


def test_feed_addresses_can_be_created_without_a_digest(login, manager):
    login(manager).post(reverse("agreements:reset_feed_token"))

    subscription = Subscription.objects.get(user=manager)
    assert subscription.frequency == "off"
    assert subscription.feed_token_hash


# Staff preview --------------------------------------------------------------------------------


def preview_url(subscription: Subscription) -> str:
    return reverse("agreements:subscription_preview", args=[subscription.pk])


def test_staff_preview_someones_next_digest_without_sending_it(
    login, editor, manager, record, mailoutbox
):
    subscription = Subscription.objects.create(
        user=manager, frequency="daily", next_due_at=timezone.now()
    )
    services.change_status(record.clause, to="pending", by=editor)
    services.change_status(record.internal_clause, to="pending", by=editor)

    response = login(editor).get(preview_url(subscription))

    assert response.status_code == 200
    content = response.content.decode()
    assert "Proton launchers" in content
    assert "Fallback position" not in content  # what the manager would see, not the editor
    assert "'unsafe-inline'" in response["Content-Security-Policy"]
    assert "script-src" not in response["Content-Security-Policy"]
    assert mailoutbox == []
    assert not DigestDelivery.objects.exists() and not DigestItem.objects.exists()


def test_only_staff_and_its_reader_may_preview(login, manager, stakeholder):
    subscription = Subscription.objects.create(user=manager)

    assert login(stakeholder).get(preview_url(subscription)).status_code == 403
    assert login(manager).get(preview_url(subscription)).status_code == 200


# What to follow, said back -----------------------------------------------------------------


def test_following_everything_and_some_choices_at_once_is_refused(login, manager, record):
    response = login(manager).post(
        URL, settings_form(agreements=str(record.agreement.pk)), headers=HTMX
    )
    assert "You chose “Everything I can see” and also ticked some" in response.text
    assert not Subscription.objects.exists()


def test_only_what_i_choose_follows_the_choices(login, manager, record):
    login(manager).post(
        URL, settings_form(follows_everything="chosen", agreements=str(record.agreement.pk))
    )
    subscription = Subscription.objects.get(user=manager)
    assert not subscription.follows_everything
    assert list(subscription.agreements.all()) == [record.agreement]


def test_the_page_offers_two_radios_for_what_to_follow(login, manager):
    content = login(manager).get(URL).text
    assert 'type="radio" name="follows_everything" value="on"' in content
    assert 'type="radio" name="follows_everything" value="chosen"' in content
    assert "Everything I can see" in content and "Only what I choose" in content


def test_after_saving_the_banner_says_the_setting_back(login, manager, record):
    client = login(manager)
    response = client.post(
        URL,
        settings_form(
            frequency="daily",
            hour="8",
            follows_everything="chosen",
            agreements=str(record.agreement.pk),
        ),
        follow=True,
    )
    assert "Saved: Daily at 08:00 Paris time, about: ExoMars cooperation. Next: " in response.text


def test_stop_all_digests_turns_it_off(login, manager):
    client = login(manager)
    client.post(URL, settings_form())
    response = client.post(URL, {**settings_form(), "stop": "1"}, follow=True)
    subscription = Subscription.objects.get(user=manager)
    assert subscription.frequency == "off" and subscription.next_due_at is None
    assert "No digest: you get no email from the tracker." in response.text


def test_the_calendar_offers_webcal_and_says_what_it_covers(login, manager):
    response = login(manager).post(reverse("agreements:reset_feed_token"))
    assert 'href="webcal://testserver/feeds/' in response.text
    assert "Copy address" in response.text and "Google Calendar" in response.text
    assert "whatever your digest follows" in response.text


def test_previewing_an_unknown_subscription_is_a_404(login, editor):
    response = login(editor).get(reverse("agreements:subscription_preview", args=[999999]))
    assert response.status_code == 404


def test_a_huge_subscription_number_is_a_404(login, editor):
    response = login(editor).get("/subscriptions/99999999999999999999999999/preview/")
    assert response.status_code == 404


def test_the_page_has_no_inline_script_or_style(login, manager, record):
    content = login(manager).get(URL).content.decode()

    assert "style=" not in content
    assert "hx-on" not in content
    assert "<script>" not in content
