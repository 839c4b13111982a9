"""Personal API tokens on /subscriptions/: made, named, listed and revoked, with and
without htmx; the secret is shown once and never stored."""

import re

import pytest
from django.urls import reverse

from agreements.api.tokens import MAX_ACTIVE_TOKENS, TokenRefused, issue_token
from agreements.models import ApiToken

PAGE = reverse("agreements:subscriptions")
CREATE = reverse("agreements:create_api_token")
HTMX = {"HX-Request": "true"}


def shown_secret(html: str) -> str:
    found = re.search(r'class="token-secret">(trk_[A-Za-z0-9_-]+)<', html)
    assert found, "no secret shown"
    return found.group(1)


def test_a_reader_makes_a_token_and_sees_it_once(login, record, stakeholder, client):
    browser = login(stakeholder)
    response = browser.post(CREATE, {"token-name": "budget sheet", "token-days": "30"})

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secret = shown_secret(response.text)
    token = ApiToken.objects.get(user=stakeholder)
    assert token.name == "budget sheet" and secret.startswith(token.prefix)
    assert (token.expires_at - token.created_at).days == 30
    # The list shows the start of it, never the whole secret again.
    page = browser.get(PAGE).text
    assert token.prefix in page and secret not in page
    # And it opens the API.
    client.logout()
    api = client.get("/api/v1/agreements/", headers={"Authorization": f"Bearer {secret}"})
    assert api.status_code == 200


def test_with_htmx_only_the_tokens_section_is_answered(login, stakeholder):
    response = login(stakeholder).post(
        CREATE, {"token-name": "dashboard", "token-days": "90"}, headers=HTMX
    )
    assert response.status_code == 200
    assert "<html" not in response.text and 'id="api-tokens"' in response.text
    shown_secret(response.text)


def test_the_default_lifetime_is_90_days(login, stakeholder):
    form = login(stakeholder).get(PAGE).context["api_token_form"]
    assert form["days"].value() == 90


@pytest.mark.parametrize(
    "data",
    [
        {"token-name": "", "token-days": "90"},
        {"token-name": "x" * 101, "token-days": "90"},
        {"token-name": "sheet", "token-days": "3650"},
        {"token-name": "sheet", "token-days": "-1"},
        {"token-name": "sheet"},
    ],
)
def test_a_bad_form_makes_no_token(login, stakeholder, data):
    response = login(stakeholder).post(CREATE, data, headers=HTMX)
    assert response.status_code == 200
    assert response.context["api_token_form"].errors
    assert 'class="token-secret"' not in response.text
    assert not ApiToken.objects.exists()


def test_a_reader_has_at_most_a_few_active_tokens(login, stakeholder):
    for number in range(MAX_ACTIVE_TOKENS):
        issue_token(stakeholder, name=f"script {number}")
    response = login(stakeholder).post(CREATE, {"token-name": "one more", "token-days": "90"})
    assert response.context["api_token_form"].non_field_errors()
    assert ApiToken.objects.count() == MAX_ACTIVE_TOKENS


def test_outsiders_cannot_make_tokens(login, outsider):
    assert login(outsider).post(CREATE, {"token-name": "x", "token-days": "90"}).status_code == 403
    with pytest.raises(TokenRefused):
        issue_token(outsider, name="x")
    assert not ApiToken.objects.exists()


def test_a_reader_revokes_their_token(login, stakeholder):
    token, secret = issue_token(stakeholder, name="old sheet")
    browser = login(stakeholder)
    response = browser.post(reverse("agreements:revoke_api_token", args=[token.pk]))
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.is_revoked
    assert "revoked" in browser.get(PAGE).text
    api = browser.get("/api/v1/agreements/", headers={"Authorization": f"Bearer {secret}"})
    assert api.status_code == 401


def test_revoking_with_htmx_answers_the_section(login, stakeholder):
    token, _secret = issue_token(stakeholder, name="old sheet")
    response = login(stakeholder).post(
        reverse("agreements:revoke_api_token", args=[token.pk]), headers=HTMX
    )
    assert response.status_code == 200 and "<html" not in response.text
    assert ApiToken.objects.get(pk=token.pk).is_revoked


def test_nobody_revokes_someone_elses_token(login, stakeholder, manager):
    token, _secret = issue_token(stakeholder, name="mine")
    response = login(manager).post(reverse("agreements:revoke_api_token", args=[token.pk]))
    assert response.status_code == 404
    assert not ApiToken.objects.get(pk=token.pk).is_revoked
