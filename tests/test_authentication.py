"""Logging in safely: lockout after repeated failures, strong passwords, sessions that end.

django-axes locks a username from one address after five failures, for fifteen minutes, on
the site's login and the admin's alike (tests/test_auth_pages.py shows the site's page).
Sessions live in the database, so ending one on the server (logout, deactivation, idle
time) ends it for the browser that holds its cookie.
"""

from __future__ import annotations

import datetime
import time

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from agreements.middleware import REFRESHED_KEY
from agreements.models import ReaderSession as Session
from agreements.sessions import SessionStore
from exomars_site.proxies import client_address
from tests.conftest import PASSWORD

HTMX = {"HX-Request": "true"}
SITE_LOGIN = reverse("login")
ADMIN_LOGIN = reverse("admin:login")
DASHBOARD = reverse("agreements:dashboard")
LOCKED = "Too many failed login attempts for this account from this address."


def log_in(client: Client, url: str, username: str, password: str):
    return client.post(url, {"username": username, "password": password})


def fail(client: Client, url: str, username: str, times: int):
    """Wrong passwords; the first four get the form again, the fifth the lockout page."""
    for _attempt in range(times):
        response = log_in(client, url, username, "not the password")
    return response


def assert_locked(response) -> None:
    assert response.status_code == 429
    assert LOCKED in response.text
    assert "Try again in 15 minutes." in response.text


def assert_logged_in(response, to: str = "/") -> None:
    assert response.status_code == 302
    assert response["Location"] == to


# Lockout ------------------------------------------------------------------------------------


def test_four_failures_do_not_lock(client, stakeholder):
    assert fail(client, SITE_LOGIN, "stakeholder", 4).status_code == 200
    assert_logged_in(log_in(client, SITE_LOGIN, "stakeholder", PASSWORD))


def test_five_failures_at_the_admin_login_lock_it_with_a_clear_message(client, editor):
    assert_locked(fail(client, ADMIN_LOGIN, "editor", 5))

    response = log_in(client, ADMIN_LOGIN, "editor", PASSWORD)

    assert_locked(response)
    assert client.get(reverse("admin:index")).status_code == 302  # not logged in


def test_failures_at_one_login_lock_the_other(client, editor):
    fail(client, SITE_LOGIN, "editor", 3)
    fail(client, ADMIN_LOGIN, "editor", 2)

    assert_locked(log_in(client, ADMIN_LOGIN, "editor", PASSWORD))
    assert_locked(log_in(client, SITE_LOGIN, "editor", PASSWORD))


def test_the_lock_holds_whatever_the_browser_says_it_is(stakeholder):
    # The pair locked is username and address: a new user agent or a forged
    # X-Forwarded-For (the address is REMOTE_ADDR, the proxy's word is not trusted) is the
    # same pair.
    for attempt in range(5):
        client = Client(
            HTTP_USER_AGENT=f"agent {attempt}", HTTP_X_FORWARDED_FOR=f"10.0.0.{attempt}"
        )
        log_in(client, SITE_LOGIN, "stakeholder", "wrong")

    client = Client(HTTP_USER_AGENT="a new one", HTTP_X_FORWARDED_FOR="192.0.2.99")
    assert_locked(log_in(client, SITE_LOGIN, "stakeholder", PASSWORD))


def test_another_address_is_not_locked(client, stakeholder):
    fail(client, SITE_LOGIN, "stakeholder", 5)
    assert_locked(log_in(client, SITE_LOGIN, "stakeholder", PASSWORD))

    elsewhere = Client(REMOTE_ADDR="192.0.2.7")
    assert_logged_in(log_in(elsewhere, SITE_LOGIN, "stakeholder", PASSWORD))


PROXY = "10.0.0.2"  # every request behind the proxy comes from its address


def through_proxy(forwarded_for: str) -> Client:
    """A browser behind the proxy, which appended the address it saw to X-Forwarded-For."""
    return Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded_for)


def test_behind_a_proxy_one_client_does_not_lock_out_another(settings, editor):
    settings.TRUSTED_PROXY_COUNT = 1
    attacker = through_proxy("203.0.113.66")
    fail(attacker, SITE_LOGIN, "editor", 5)
    assert_locked(log_in(attacker, SITE_LOGIN, "editor", PASSWORD))

    real_editor = through_proxy("198.51.100.7")
    assert_logged_in(log_in(real_editor, ADMIN_LOGIN, "editor", PASSWORD))
    assert AccessAttempt.objects.get().ip_address == "203.0.113.66"


def test_behind_a_proxy_a_forged_left_most_address_changes_nothing(settings, editor):
    settings.TRUSTED_PROXY_COUNT = 1
    # Each attempt names another address first (the editor's among them); the proxy appends
    # the attacker's real one.
    for forged in ("198.51.100.7", "198.51.100.8", "192.0.2.1", "192.0.2.2", "192.0.2.3"):
        log_in(through_proxy(f"{forged}, 203.0.113.66"), SITE_LOGIN, "editor", "wrong")

    assert_locked(log_in(through_proxy("192.0.2.4, 203.0.113.66"), SITE_LOGIN, "editor", PASSWORD))
    assert_logged_in(log_in(through_proxy("198.51.100.7"), SITE_LOGIN, "editor", PASSWORD))
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.66"}


@pytest.mark.parametrize(
    ("trusted", "remote", "forwarded", "expected"),
    [
        (0, "192.0.2.1", "203.0.113.9", "192.0.2.1"),  # no proxy trusted: the connection
        (1, PROXY, "203.0.113.9", "203.0.113.9"),
        (1, PROXY, "6.6.6.6, 203.0.113.9", "203.0.113.9"),
        (2, PROXY, "6.6.6.6, 203.0.113.9, 10.0.0.1", "203.0.113.9"),  # a CDN, then nginx
        (2, PROXY, "203.0.113.9", "203.0.113.9"),  # reached nginx directly
        (1, PROXY, "", PROXY),  # not through the proxy at all
        (1, PROXY, "not-an-address", PROXY),
        (1, PROXY, " 2001:db8::1 ", "2001:db8::1"),
    ],
)
def test_the_client_address_is_the_one_the_trusted_proxies_appended(
    settings, rf, trusted, remote, forwarded, expected
):
    settings.TRUSTED_PROXY_COUNT = trusted
    request = rf.get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected


def test_another_account_from_the_same_address_is_not_locked(client, stakeholder, manager):
    fail(client, SITE_LOGIN, "stakeholder", 5)
    assert_logged_in(log_in(client, SITE_LOGIN, "manager", PASSWORD))


def age_failures(minutes: int) -> None:
    AccessAttempt.objects.update(attempt_time=timezone.now() - datetime.timedelta(minutes=minutes))


def test_the_lock_lifts_after_fifteen_minutes(client, stakeholder):
    fail(client, SITE_LOGIN, "stakeholder", 5)

    age_failures(14)
    assert_locked(log_in(client, SITE_LOGIN, "stakeholder", PASSWORD))

    age_failures(16)
    assert_logged_in(log_in(client, SITE_LOGIN, "stakeholder", PASSWORD))


def test_a_successful_login_starts_the_count_again(client, stakeholder):
    fail(client, SITE_LOGIN, "stakeholder", 4)
    assert_logged_in(log_in(client, SITE_LOGIN, "stakeholder", PASSWORD))
    client.post(reverse("logout"))

    fail(client, SITE_LOGIN, "stakeholder", 4)
    assert_logged_in(log_in(client, SITE_LOGIN, "stakeholder", PASSWORD))


def test_an_unknown_username_is_locked_like_a_known_one(client, db):
    # No difference in answer tells an attacker which usernames exist.
    fail(client, SITE_LOGIN, "nobody-here", 5)
    assert_locked(log_in(client, SITE_LOGIN, "nobody-here", "anything"))


# Password strength --------------------------------------------------------------------------


def change_password(client: Client, new: str):
    return client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )


@pytest.mark.parametrize(
    "password,reason",
    [
        ("Kx9!mPq2#vL", "This password is too short. It must contain at least 12 characters."),
        ("qwerty123456", "This password is too common."),
        ("1qaz2wsx3edc", "This password is too common."),
        ("384920174629", "This password is entirely numeric."),
        ("stakeholder1", "The password is too similar to the username."),
    ],
    ids=["eleven characters", "common", "common keyboard walk", "numeric", "like the username"],
)
def test_a_weak_password_is_refused(stakeholder, login, password, reason):
    response = change_password(login(stakeholder), password)

    assert response.status_code == 200
    assert reason in response.text
    stakeholder.refresh_from_db()
    assert stakeholder.check_password(PASSWORD)


@pytest.mark.parametrize(
    "password", ["Kx9!mPq2#vLw", "quatre chevaux bleus au petit matin", "луна и марс, 2016 и 2018"]
)
def test_twelve_characters_or_a_long_passphrase_are_accepted(stakeholder, login, password):
    response = change_password(login(stakeholder), password)

    assert response.status_code == 302
    stakeholder.refresh_from_db()
    assert stakeholder.check_password(password)


def test_changing_the_password_ends_the_other_sessions(stakeholder):
    laptop, phone = Client(), Client()
    for client in (laptop, phone):
        assert_logged_in(log_in(client, SITE_LOGIN, "stakeholder", PASSWORD))

    assert change_password(laptop, "quatre chevaux bleus au petit matin").status_code == 302

    assert laptop.get(DASHBOARD).status_code == 200  # this session was updated
    assert phone.get(DASHBOARD)["Location"].startswith(SITE_LOGIN)


# Sessions -------------------------------------------------------------------------------


def session_key(client: Client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def test_logging_in_gives_a_new_session_key(client, stakeholder):
    client.get(SITE_LOGIN)
    session = client.session
    session["planted"] = "by someone else"
    session.save()
    planted = session.session_key
    client.cookies[settings.SESSION_COOKIE_NAME] = planted

    assert_logged_in(log_in(client, SITE_LOGIN, "stakeholder", PASSWORD))

    assert session_key(client) != planted
    assert not Session.objects.filter(session_key=planted).exists()


def test_logging_out_ends_the_session_on_the_server(client, stakeholder):
    assert_logged_in(log_in(client, SITE_LOGIN, "stakeholder", PASSWORD))
    old_key = session_key(client)

    client.post(reverse("logout"))

    assert not Session.objects.filter(session_key=old_key).exists()
    # A copy of the old cookie, replayed from elsewhere, opens nothing.
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = old_key
    assert replay.get(DASHBOARD)["Location"].startswith(SITE_LOGIN)


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["page", "htmx"])
def test_a_deactivated_users_session_stops_at_the_next_request(client, stakeholder, headers):
    assert_logged_in(log_in(client, SITE_LOGIN, "stakeholder", PASSWORD))
    assert client.get(DASHBOARD).status_code == 200

    stakeholder.is_active = False
    stakeholder.save()

    response = client.get(DASHBOARD, headers=headers)
    if headers:
        assert response["HX-Redirect"].startswith(SITE_LOGIN)
    else:
        assert response["Location"].startswith(SITE_LOGIN)
    assert log_in(Client(), SITE_LOGIN, "stakeholder", PASSWORD).status_code == 200  # refused


def test_a_deactivated_editor_is_out_of_the_admin_at_once(client, editor):
    assert_logged_in(log_in(client, SITE_LOGIN, "editor", PASSWORD))
    editor.is_active = False
    editor.save()
    assert client.get(reverse("admin:agreements_clause_changelist")).status_code == 302


def test_an_idle_session_expires(client, stakeholder):
    assert_logged_in(log_in(client, SITE_LOGIN, "stakeholder", PASSWORD))
    key = session_key(client)

    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() - datetime.timedelta(seconds=1)
    )

    assert client.get(DASHBOARD)["Location"].startswith(SITE_LOGIN)


def age_session(key: str, *, last_refreshed: int, expires_in: datetime.timedelta) -> None:
    """As if the session was last pushed back at `last_refreshed` and ends in `expires_in`."""
    store = SessionStore(session_key=key)
    store[REFRESHED_KEY] = last_refreshed
    store.save()
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() + expires_in)


def test_use_pushes_the_idle_timeout_back(client, stakeholder, settings):
    settings.SESSION_COOKIE_AGE = 10 * 60
    assert_logged_in(log_in(client, SITE_LOGIN, "stakeholder", PASSWORD))
    key = session_key(client)
    a_while_ago = int(time.time()) - settings.SESSION_REFRESH_SECONDS
    age_session(key, last_refreshed=a_while_ago, expires_in=datetime.timedelta(seconds=5))

    response = client.get(DASHBOARD)

    assert response.status_code == 200
    expires = Session.objects.get(session_key=key).expire_date
    assert expires > timezone.now() + datetime.timedelta(minutes=9)
    assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == 600


def test_reading_pages_does_not_write_the_session_each_time(client, stakeholder, settings):
    assert_logged_in(log_in(client, SITE_LOGIN, "stakeholder", PASSWORD))
    key = session_key(client)
    age_session(key, last_refreshed=int(time.time()), expires_in=datetime.timedelta(hours=1))

    with CaptureQueriesContext(connection) as queries:
        response = client.get(DASHBOARD)

    assert response.status_code == 200
    session_sql = [query["sql"] for query in queries if "agreements_readersession" in query["sql"]]
    assert [sql for sql in session_sql if not sql.startswith("SELECT")] == []
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    expires = Session.objects.get(session_key=key).expire_date
    assert expires < timezone.now() + datetime.timedelta(hours=1, seconds=1)


def test_a_request_that_never_reads_the_session_does_not_touch_it(client, stakeholder):
    assert_logged_in(log_in(client, SITE_LOGIN, "stakeholder", PASSWORD))

    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("healthz")).status_code == 200

    assert not [q for q in queries if "agreements_readersession" in q["sql"]]


def test_the_idle_time_is_set_from_the_environment():
    import subprocess
    import sys

    from tests.test_settings import ROOT

    code = "from django.conf import settings; print(settings.SESSION_COOKIE_AGE)"
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "exomars_site.settings",
            "DEBUG": "1",
            "SESSION_IDLE_SECONDS": "900",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout.strip() == "900", result.stderr
