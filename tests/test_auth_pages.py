"""Logging in, out, changing a password, and being locked out after too many failures."""

import pytest

from tests.conftest import PASSWORD


def test_the_login_page_has_labelled_fields(client, db):
    response = client.get("/accounts/login/")
    content = response.content.decode()
    assert response.status_code == 200
    assert '<label for="id_username">' in content and '<label for="id_password">' in content
    assert "<main" in content
    assert '<nav aria-label="Main">' not in content  # no reader links before login


def test_logging_in_leads_to_the_dashboard(client, stakeholder):
    response = client.post("/accounts/login/", {"username": "stakeholder", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_logging_in_returns_to_the_page_asked_for(client, stakeholder):
    response = client.post(
        "/accounts/login/?next=/timeline/",
        {"username": "stakeholder", "password": PASSWORD, "next": "/timeline/"},
    )
    assert response["Location"] == "/timeline/"


def test_a_wrong_password_says_so(client, stakeholder):
    response = client.post("/accounts/login/", {"username": "stakeholder", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_five_failures_lock_the_account_out_for_fifteen_minutes(client, stakeholder):
    for _attempt in range(5):
        client.post("/accounts/login/", {"username": "stakeholder", "password": "wrong"})
    response = client.post("/accounts/login/", {"username": "stakeholder", "password": PASSWORD})
    content = response.content.decode()
    assert response.status_code == 429
    assert "Too many failed login attempts" in content
    assert "Try again in 15 minutes." in content
    assert client.get("/").status_code == 302  # still not logged in


def test_logging_out_takes_a_post_and_leads_to_login(client, stakeholder, login):
    client = login(stakeholder)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("role", ["stakeholder", "outsider"])
def test_the_password_change_page_is_styled_and_labelled(login, role, request):
    response = login(request.getfixturevalue(role)).get("/accounts/password_change/")
    content = response.content.decode()
    assert response.status_code == 200
    assert '<label for="id_old_password">' in content
    assert 'class="card narrow"' in content


def test_changing_the_password_works(stakeholder, login):
    client = login(stakeholder)
    new = "a much longer new passphrase"
    response = client.post(
        "/accounts/password_change/",
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    assert "Password changed" in client.get(response["Location"]).content.decode()
    stakeholder.refresh_from_db()
    assert stakeholder.check_password(new)


def test_a_weak_new_password_is_refused_with_the_reason(stakeholder, login):
    response = login(stakeholder).post(
        "/accounts/password_change/",
        {"old_password": PASSWORD, "new_password1": "short", "new_password2": "short"},
    )
    assert response.status_code == 200
    assert "This password is too short." in response.content.decode()


def test_anonymous_cannot_change_a_password(client, db):
    assert client.get("/accounts/password_change/")["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/password_reset/",
        "/accounts/password_reset/done/",
        "/accounts/reset/MQ/set-password/",
        "/accounts/reset/done/",
    ],
)
def test_there_is_no_self_service_password_reset(client, editor, mailoutbox, path):
    # Passwords are reset by an administrator: a public form would mail anyone, unthrottled.
    response = client.post(path, {"email": "editor@example.org"})

    assert response.status_code in (302, 404)
    assert response.status_code == 404 or response["Location"].startswith("/accounts/login/")
    assert mailoutbox == []
